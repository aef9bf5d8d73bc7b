package server

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/credvault/credvault/internal/platform/config"
	"github.com/credvault/credvault/internal/vault/crypt"
)

// LoadKeys loads the master keys once at start-up: CREDVAULT_MASTER_KEY (in
// production, read from CREDVAULT_MASTER_KEY_FILE when set), or in
// development a key file created on first run. Production refuses to start
// without a configured key.
func LoadKeys(cfg *config.Config, logger *slog.Logger) (Keys, error) {
	var keys Keys
	var err error
	switch {
	case cfg.MasterKey != "":
		if keys.Master, err = crypt.ParseMasterKey(cfg.MasterKey); err != nil {
			return keys, fmt.Errorf("CREDVAULT_MASTER_KEY: %w", err)
		}
	case cfg.Production():
		return keys, errors.New("CREDVAULT_MASTER_KEY or CREDVAULT_MASTER_KEY_FILE is required when CREDVAULT_ENV=production")
	default:
		var created bool
		if keys.Master, created, err = crypt.LoadOrCreateKeyFile(cfg.MasterKeyFile); err != nil {
			return keys, err
		}
		msg := "using the development master key file; set CREDVAULT_MASTER_KEY in production"
		if created {
			msg = "generated a development master key file; set CREDVAULT_MASTER_KEY in production"
		}
		logger.Warn(msg, "path", cfg.MasterKeyFile)
	}
	if cfg.MasterKeyPrevious != "" {
		if keys.Previous, err = crypt.ParseMasterKey(cfg.MasterKeyPrevious); err != nil {
			return keys, fmt.Errorf("CREDVAULT_MASTER_KEY_PREVIOUS: %w", err)
		}
	}
	return keys, nil
}
