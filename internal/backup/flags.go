package backup

import (
	"fmt"
	"strconv"
	"strings"
)

// Flags are the backup and restore commands' own flags.
type Flags struct {
	// File is the backup: --to of backup, --from of restore.
	File string
	// Force lets restore replace a database that holds CredVault data.
	Force bool
}

// ParseFlags takes cmd's own flags out of args — --to FILE for backup,
// --from FILE and --force for restore, each as -name or --name, its value
// after = or as the next argument — and returns the others, the server's
// (--database-url, --master-key, …), for config.Load.
func ParseFlags(cmd string, args []string) (Flags, []string, error) {
	fileFlag := map[string]string{"backup": "to", "restore": "from"}[cmd]
	if fileFlag == "" {
		return Flags{}, nil, fmt.Errorf("backup: unknown command %q", cmd)
	}
	var f Flags
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || a == "-" || a == "--" {
			name = ""
		}
		switch {
		case name == fileFlag:
			if !hasValue {
				if i+1 == len(args) {
					return f, nil, fmt.Errorf("%s: --%s needs a file", cmd, fileFlag)
				}
				i++
				value = args[i]
			}
			f.File = value
		case name == "force" && cmd == "restore":
			f.Force = true
			if hasValue {
				b, err := strconv.ParseBool(value)
				if err != nil {
					return f, nil, fmt.Errorf("restore: --force=%q is not a boolean", value)
				}
				f.Force = b
			}
		default:
			rest = append(rest, a)
		}
	}
	if f.File == "" {
		return f, nil, fmt.Errorf("%s: --%s FILE is required", cmd, fileFlag)
	}
	return f, rest, nil
}
