// Command credvault is the CredVault server: API keys, OAuth clients, an
// encrypted credentials vault and an audit trail, over GraphQL and REST.
//
//	credvault [serve] [flags]   run the server (the default)
//	credvault migrate [flags]   migrate the database schema and exit
//	credvault rotate-master-key rewrap every DEK and signing key under
//	                            CREDVAULT_MASTER_KEY, opening them with
//	                            CREDVAULT_MASTER_KEY_PREVIOUS
//	credvault backup --to FILE  write a consistent copy of the database
//	credvault restore --from FILE [--force]
//	                            put a backup in place as the database
//	credvault audit export --since TIME [--until TIME] [--format ndjson|csv]
//	                            [--tenant ID] [--out FILE]
//	                            stream the audit trail from the database
//	credvault version           print the version, commit and Go version
//	credvault healthcheck       exit 0 when the server on this machine
//	                            answers /health, 1 otherwise
//
// and the client commands of package internal/cli, which talk to a server
// over its API: login, logout, whoami, keys, clients, creds, audit list,
// webhooks, run, help and completion (`credvault help`).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/cli"
	"github.com/credvault/credvault/internal/platform/config"
	"github.com/credvault/credvault/internal/platform/logbuf"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/server"
)

func main() {
	if cli.Handles(os.Args[1:]) {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		code := cli.Execute(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
		stop()
		os.Exit(code)
	}
	if err := run(os.Args[1:]); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "credvault:", err)
		}
		os.Exit(1)
	}
}

func run(args []string) error {
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve", "migrate", "rotate-master-key":
	case "version":
		return printVersion(os.Stdout)
	case "healthcheck":
		return healthcheck(args, os.Getenv)
	case "backup", "restore":
		return runBackup(cmd, args)
	case "audit":
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		return audit.Command(ctx, args, os.Getenv, os.Stdout, os.Stderr)
	default:
		return fmt.Errorf("unknown command %q (want serve, migrate, rotate-master-key, backup, restore, audit, version or healthcheck)", cmd)
	}
	cfg, err := config.Load(args, os.Getenv)
	if err != nil {
		return err
	}
	out := logbuf.New(os.Stderr, logFlushInterval)
	defer out.Close()
	logger := newLogger(cfg, out)
	slog.SetDefault(logger)
	// Request ids are UUIDs: draw their randomness in blocks, not a system call each.
	uuid.EnableRandPool()
	// A server's heap is small and short-lived per request: trade memory for
	// less collection, unless the operator set GOGC; the soft memory limit
	// then bounds what that trade may cost, unless GOMEMLIMIT is set.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	st, err := store.Open(cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	if cmd == "migrate" {
		logger.Info("schema migrated", "dialect", st.Dialect)
		return nil
	}
	keys, err := server.LoadKeys(cfg, logger)
	if err != nil {
		return err
	}
	if cmd == "rotate-master-key" {
		deks, signing, err := server.RotateMasterKey(ctx, st, keys)
		if err != nil {
			return err
		}
		logger.Info("master key rotated: set CREDVAULT_MASTER_KEY alone from now on", "deks", deks, "signing_keys", signing)
		return nil
	}
	if err := server.Bootstrap(ctx, st, cfg.AdminEmail, cfg.AdminPassword, cfg.Argon2); err != nil {
		return err
	}
	// Listen first: a public URL derived from the address needs the port.
	ln, err := server.Listen(cfg)
	if err != nil {
		return err
	}
	srv, err := server.New(ctx, cfg, st, keys, logger)
	if err != nil {
		ln.Close()
		return err
	}
	return srv.Serve(ctx, ln)
}

// defaultGCPercent is the GOGC the server runs with when none is set.
const defaultGCPercent = 400

// defaultMemoryLimit is the GOMEMLIMIT the server runs with when none is
// set: the Go heap is collected before it passes it, keeping the process
// (heap, stacks, SQLite's caches) under 100 MiB under load.
const defaultMemoryLimit = 40 << 20

// logFlushInterval bounds how long a log line waits in the buffer.
const logFlushInterval = 200 * time.Millisecond

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
