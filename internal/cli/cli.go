// Package cli is credvault's client command line: login, keys, OAuth
// clients, credentials, the audit trail, webhooks and `run`, talking to a
// CredVault server over its REST API with the Go SDK (sdk/go).
//
// The server's own commands (serve, migrate, rotate-master-key, version,
// healthcheck, backup, restore, audit export) stay in package main; main
// hands the client command names (Handles) to Execute.
//
// Exit status: 0 success, 1 failure (a server error's code and message on
// stderr), 2 usage. `run` exits with its child's status.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	credvault "github.com/credvault/credvault/sdk/go"
)

// DefaultURL is the server the commands talk to without --url or
// CREDVAULT_URL (or a session's).
const DefaultURL = "http://localhost:8080"

// Exit statuses.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// clientCommands are the first arguments Execute answers; "audit" is
// shared with the server's `audit export` (see Handles).
var clientCommands = []string{"login", "logout", "whoami", "keys", "clients", "creds", "webhooks", "run",
	"help", "completion", cobra.ShellCompRequestCmd, cobra.ShellCompNoDescRequestCmd}

// Handles reports whether args (without the program name) are a client
// command for Execute; the rest are the server's. `audit list` and
// `audit --help` are the client's, `audit export` the server's.
func Handles(args []string) bool {
	if len(args) == 0 {
		return false
	}
	if args[0] == "audit" {
		return len(args) > 1 && slices.Contains([]string{"list", "-h", "--help"}, args[1])
	}
	return slices.Contains(clientCommands, args[0])
}

// Execute runs the client command args (without the program name) and
// returns the process's exit status. getenv reads the environment
// (CREDVAULT_URL, CREDVAULT_API_KEY, CREDVAULT_CONFIG_DIR).
func Execute(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	root := a.root()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	var ex *exitError
	if errors.As(err, &ex) {
		return ex.code
	}
	var re *runError
	if errors.As(err, &re) {
		var ue *usageError
		if !errors.As(re.err, &ue) {
			report(stderr, re.err)
			return ExitFailure
		}
	}
	// Anything cobra refused before running the command (an unknown command
	// or flag, a missing argument), or a usage error of the command's own.
	msg := err.Error()
	if !strings.HasPrefix(msg, "credvault") {
		msg = "credvault: " + msg
	}
	fmt.Fprintln(stderr, msg)
	if cmd != nil {
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return ExitUsage
}

// report writes a failure to stderr: a server error as its code and
// message, its details and request id.
func report(stderr io.Writer, err error) {
	var ce *credvault.Error
	if !errors.As(err, &ce) {
		fmt.Fprintf(stderr, "credvault: %s\n", strings.TrimPrefix(err.Error(), "credvault: "))
		return
	}
	fmt.Fprintf(stderr, "credvault: %s: %s (HTTP %d", ce.Code, ce.Message, ce.Status)
	if ce.RequestID != "" {
		fmt.Fprintf(stderr, ", request %s", ce.RequestID)
	}
	fmt.Fprintln(stderr, ")")
	if len(ce.Details) > 0 {
		fmt.Fprintf(stderr, "  details: %s\n", compactJSON(ce.Details))
	}
}

// usageError is a command line the command cannot run: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// runError marks an error a command returned once it ran (exit 1, unless
// it wraps a usageError); errors cobra returns unmarked happened before.
type runError struct{ err error }

func (e *runError) Error() string { return e.err.Error() }
func (e *runError) Unwrap() error { return e.err }

// exitError ends the process with a status of its own, such as the status
// of `run`'s child, with nothing more written.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// app is one invocation: its streams, environment and global flags.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string

	url    string
	apiKey string
	output string
}

const (
	groupClient = "client"
	groupServer = "server"
)

func (a *app) root() *cobra.Command {
	root := &cobra.Command{
		Use:   "credvault",
		Short: "CredVault: API keys, OAuth clients, an encrypted credentials vault and an audit trail",
		Long: `credvault is both the CredVault server and its command line client.

The client commands talk to a server over its REST API (/api/v1):
  --url / CREDVAULT_URL picks the server (default ` + DefaultURL + `),
  --api-key / CREDVAULT_API_KEY authenticates with an API key, otherwise
  the session 'credvault login' stored in the user's config directory.

Exit status: 0 success, 1 failure (the server's error code and message on
stderr), 2 usage; 'credvault run' exits with its command's status.`,
		SilenceErrors:     true,
		SilenceUsage:      true,
		Args:              noArgs,
		RunE:              func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: false},
	}
	root.AddGroup(&cobra.Group{ID: groupClient, Title: "Client commands:"},
		&cobra.Group{ID: groupServer, Title: "Server commands:"})
	root.SetHelpCommandGroupID(groupClient)
	root.SetCompletionCommandGroupID(groupClient)
	pf := root.PersistentFlags()
	pf.StringVar(&a.url, "url", "", "the server's URL (default: $CREDVAULT_URL, the session's, or "+DefaultURL+")")
	pf.StringVar(&a.apiKey, "api-key", "", "authenticate with this API key (default: $CREDVAULT_API_KEY, else the login session)")
	pf.StringVarP(&a.output, "output", "o", "table", "output format: table (for people) or json (for scripts)")
	_ = root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "json"}, cobra.ShellCompDirectiveNoFileComp))
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if a.output != "table" && a.output != "json" {
			return usagef("--output %q: want table or json", a.output)
		}
		return nil
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err.Error()} })

	for _, c := range []*cobra.Command{a.loginCmd(), a.logoutCmd(), a.whoamiCmd(), a.keysCmd(), a.clientsCmd(),
		a.credsCmd(), a.auditCmd(), a.webhooksCmd(), a.runCmd()} {
		c.GroupID = groupClient
		root.AddCommand(c)
	}
	for _, c := range serverCommands() {
		c.GroupID = groupServer
		root.AddCommand(c)
	}
	markRun(root)
	return root
}

// markRun wraps every command's RunE so that its errors are told from
// cobra's own (which happen before a command runs, and are usage errors).
func markRun(c *cobra.Command) {
	if run := c.RunE; run != nil {
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if err := run(cmd, args); err != nil {
				return &runError{err}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		markRun(sub)
	}
}

// noArgs refuses arguments, naming an unknown subcommand as such.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.HasSubCommands() {
		return usagef("unknown command %q for %q", args[0], cmd.CommandPath())
	}
	return usagef("%s takes no arguments, got %q", cmd.CommandPath(), args[0])
}

// exactArgs wants exactly the named arguments.
func exactArgs(names ...string) cobra.PositionalArgs {
	return rangeArgs(len(names), names...)
}

// rangeArgs wants at least min of the named arguments, at most all of them.
func rangeArgs(min int, names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < min {
			return usagef("%s: missing %s", cmd.CommandPath(), strings.Join(names[len(args):min], " and "))
		}
		if len(args) > len(names) {
			return usagef("%s: unexpected argument %q", cmd.CommandPath(), args[len(names)])
		}
		return nil
	}
}

// group is a command whose subcommands do the work: alone it names them
// and fails as a usage error.
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	g := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var names []string
			for _, sub := range cmd.Commands() {
				if sub.IsAvailableCommand() {
					names = append(names, sub.Name())
				}
			}
			return usagef("%s: missing subcommand (%s)", cmd.CommandPath(), strings.Join(names, ", "))
		},
	}
	g.AddCommand(subs...)
	return g
}

// serverCommands are the server's commands, for help only: main runs
// them and never hands them to Execute.
func serverCommands() []*cobra.Command {
	cmds := []struct{ use, short string }{
		{"serve", "run the server (the default; flags or CREDVAULT_* variables, see 'credvault serve -help')"},
		{"migrate", "migrate the database schema and exit"},
		{"rotate-master-key", "rewrap every DEK and signing key under CREDVAULT_MASTER_KEY"},
		{"version", "print the version, commit and Go version"},
		{"healthcheck", "exit 0 when the server on this machine answers /health, 1 otherwise"},
		{"backup", "write a consistent copy of the database: backup --to FILE"},
		{"restore", "put a backup in place as the database: restore --from FILE [--force]"},
	}
	out := make([]*cobra.Command, 0, len(cmds))
	for _, c := range cmds {
		out = append(out, &cobra.Command{Use: c.use, Short: c.short, DisableFlagParsing: true,
			RunE: serverStub})
	}
	return out
}

// serverStub runs a server command's stand-in: its help, or a usage error
// (main runs the real one; Execute never sees it but through `help`).
func serverStub(cmd *cobra.Command, args []string) error {
	if slices.ContainsFunc(args, func(a string) bool { return a == "-h" || a == "--help" || a == "-help" }) {
		return cmd.Help()
	}
	return usagef("%s is a server command: run it as 'credvault %s'", cmd.CommandPath(), cmd.CommandPath()[len("credvault "):])
}

// environ is the process environment, for the children of `run`.
var environ = os.Environ
