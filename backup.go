package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/credvault/credvault/internal/backup"
	"github.com/credvault/credvault/internal/platform/config"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/vault/crypt"
	"github.com/credvault/credvault/server"
)

// runBackup runs backup or restore. Both check the backup against the
// master key, without which it decrypts nothing.
func runBackup(cmd string, args []string) error {
	flags, rest, err := backup.ParseFlags(cmd, args)
	if err != nil {
		return err
	}
	cfg, err := config.Load(rest, os.Getenv)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, os.Stderr)
	// A development key file made up now would open nothing in the database.
	if cfg.MasterKey == "" && !cfg.Production() {
		if _, err := os.Stat(cfg.MasterKeyFile); errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s needs the master key the database is encrypted with: set CREDVAULT_MASTER_KEY (there is no key file at %s)", cmd, cfg.MasterKeyFile)
		}
	}
	keys, err := server.LoadKeys(cfg, logger)
	if err != nil {
		return err
	}
	masters := []*crypt.MasterKey{keys.Master}
	if keys.Previous != nil {
		masters = append(masters, keys.Previous)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	if cmd == "restore" {
		sum, err := backup.Restore(ctx, cfg.DatabaseURL, flags.File, masters, flags.Force)
		if err != nil {
			return err
		}
		logger.Info("backup restored: start the server with the same master key", "file", flags.File, "deks", sum.DEKs, "signing_keys", sum.SigningKeys)
		if sum.Previous > 0 {
			logger.Warn("some keys open only with CREDVAULT_MASTER_KEY_PREVIOUS: run credvault rotate-master-key", "keys", sum.Previous)
		}
		return nil
	}
	// Opening a SQLite path creates the file: back up only what exists.
	if path, ok := strings.CutPrefix(cfg.DatabaseURL, "sqlite://"); ok && path != ":memory:" {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("backup: no database at %s", path)
		}
	}
	st, err := store.Open(cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	sum, err := backup.Take(ctx, st, flags.File, masters)
	if err != nil {
		return err
	}
	logger.Info("backup written and checked against the master key; keep that key too, apart from the backup: without it the backup decrypts nothing",
		"file", flags.File, "deks", sum.DEKs, "signing_keys", sum.SigningKeys)
	if sum.Previous > 0 {
		logger.Warn("some keys open only with CREDVAULT_MASTER_KEY_PREVIOUS: run credvault rotate-master-key", "keys", sum.Previous)
	}
	return nil
}
