package cli

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	credvault "github.com/credvault/credvault/sdk/go"
)

func (a *app) runCmd() *cobra.Command {
	var integrations []string
	cmd := &cobra.Command{
		Use:   "run --integration ID [--integration ID…] -- COMMAND [ARG…]",
		Short: "run a command with an integration's credential in its environment",
		Long: `Run COMMAND with the data fields of the integration's active credential as
environment variables named ID_FIELD, upper-cased, every character other
than a letter or digit turned into '_': the api_key field of "stripe" is
STRIPE_API_KEY. Values that are not strings are given as JSON.

The secrets go to the command's environment only: they are never printed,
logged or written to a file. The command's standard streams are credvault's;
credvault exits with the command's exit status (128+N when a signal N ended
it) and forwards SIGTERM and SIGHUP to it.`,
		Example: `  credvault run --integration stripe -- ./deploy.sh
  credvault run --integration stripe --integration github -- sh -c 'echo "$GITHUB_TOKEN" | gh auth login --with-token'`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(integrations) == 0 {
				return usagef("%s: give --integration ID", cmd.CommandPath())
			}
			if len(args) == 0 {
				return usagef("%s: missing COMMAND (after --)", cmd.CommandPath())
			}
			return nil
		},
		RunE: a.withClient(func(ctx context.Context, c *credvault.Client, args []string) error {
			env, err := credentialEnv(ctx, c, integrations)
			if err != nil {
				return err
			}
			return a.runChild(args, env)
		}),
	}
	cmd.Flags().StringArrayVar(&integrations, "integration", nil, "the integration whose credential to pass (repeated for several)")
	// Everything from COMMAND on is COMMAND's, flags included.
	cmd.Flags().SetInterspersed(false)
	return cmd
}

// credentialEnv reads each integration's active credential and names its
// fields as environment variables.
func credentialEnv(ctx context.Context, c *credvault.Client, integrations []string) ([]string, error) {
	var env []string
	for _, id := range integrations {
		in, err := c.Credentials.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		cr := active(in)
		if cr == nil {
			return nil, fmt.Errorf("run: %s has no active credential", id)
		}
		for _, field := range slices.Sorted(maps.Keys(cr.Data)) {
			env = append(env, EnvName(id, field)+"="+envValue(cr.Data[field]))
		}
	}
	return env, nil
}

// EnvName is the environment variable of an integration's data field:
// INTEGRATION_FIELD upper-cased, anything but an ASCII letter or digit as '_'.
func EnvName(integration, field string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		}
		return '_'
	}, integration+"_"+field)
}

// runChild runs args with env added to credvault's environment and ends
// with its exit status.
func (a *app) runChild(args, env []string) error {
	child := exec.Command(args[0], args[1:]...)
	child.Env = append(environ(), env...)
	child.Stdin, child.Stdout, child.Stderr = a.stdin, a.stdout, a.stderr
	if err := child.Start(); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	// SIGINT reaches the child from the terminal with credvault; a SIGTERM
	// or SIGHUP sent to credvault alone is passed on.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case s := <-sigs:
				_ = child.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	err := child.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return &exitError{128 + int(ws.Signal())}
		}
		return &exitError{ee.ExitCode()}
	}
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	return nil
}
