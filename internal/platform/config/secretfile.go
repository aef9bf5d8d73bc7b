package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// maxSecretFile bounds what a secret file may hold: a key, a password or
// a URL is far shorter, and a path naming a device must not hang start-up.
const maxSecretFile = 64 << 10

// secretFile is a setting that may be read from a file instead: VAR_FILE
// or --flag-file names the file, so the secret itself stays out of flags,
// the environment and ps.
type secretFile struct {
	name  string // the variable, CREDVAULT_…
	flag  string // its flag
	value *string
	path  string
	// private refuses a file that group or others may access.
	private bool
}

// readSecretFiles sets each setting given as a file from the file, once it
// checked the setting is not given directly too.
func readSecretFiles(fs *flag.FlagSet, getenv func(string) string, files []secretFile) error {
	for _, s := range files {
		if s.path == "" {
			continue
		}
		if getenv(s.name) != "" || isSet(fs, s.flag) {
			return fmt.Errorf("config: set %s or %s_FILE, not both", s.name, s.name)
		}
		v, err := readSecretFile(s.path, s.private)
		if err != nil {
			return fmt.Errorf("config: %s_FILE: %w", s.name, err)
		}
		*s.value = v
	}
	return nil
}

// isSet reports whether the flag name was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// readSecretFile reads a secret from path without its trailing newline.
// When private, a file that group or others may access is refused: the
// secret would not be the service's alone. Errors name the path, never
// the content.
func readSecretFile(path string, private bool) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	// Stat the open file: what is checked is what is read, a symbolic link
	// (as Kubernetes mounts secrets) being followed once.
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); private && perm&0o077 != 0 {
		return "", fmt.Errorf("%s has mode %04o: group and others must have no access (chmod 600 or 400)", path, perm)
	}
	raw, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", err
	}
	if len(raw) > maxSecretFile {
		return "", fmt.Errorf("%s is larger than %d bytes", path, maxSecretFile)
	}
	v := strings.TrimRight(string(raw), "\r\n")
	if v == "" {
		return "", errors.New(path + " is empty")
	}
	return v, nil
}
