package backup

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/google/uuid"

	"github.com/credvault/credvault/internal/identity/tokens"
	"github.com/credvault/credvault/internal/vault/crypt"
)

// sealedKey is a key sealed under the master key, as a backup holds it: a
// tenant's DEK (signing false) or a token signing key.
type sealedKey struct {
	signing bool
	id      uuid.UUID
	tenant  uuid.UUID
	version int
	sealed  []byte
}

// open unseals k with m, wiping what it opened: only whether it opens counts.
func (k sealedKey) open(m *crypt.MasterKey) bool {
	var plain []byte
	var err error
	if k.signing {
		plain, err = tokens.OpenSigningKey(m, k.id, k.sealed)
	} else {
		plain, err = m.UnwrapDEK(k.sealed, k.tenant, k.version)
	}
	clear(plain)
	return err == nil
}

// check opens every key with masters[0], or failing that with a later one
// (the previous master key during a rotation).
func check(keys []sealedKey, masters []*crypt.MasterKey) (Summary, error) {
	var sum Summary
	var failed KeyError
	for _, k := range keys {
		if k.signing {
			sum.SigningKeys++
		} else {
			sum.DEKs++
		}
		opened := k.open(masters[0])
		for _, m := range masters[1:] {
			if opened {
				break
			}
			if opened = k.open(m); opened {
				sum.Previous++
			}
		}
		switch {
		case opened:
		case k.signing:
			failed.FailedSigningKeys++
		default:
			failed.FailedDEKs++
		}
	}
	if failed.FailedDEKs > 0 || failed.FailedSigningKeys > 0 {
		failed.DEKs, failed.SigningKeys = sum.DEKs, sum.SigningKeys
		return sum, &failed
	}
	return sum, nil
}

// The queries reading the sealed keys; a destroyed DEK has no wrapped key.
const (
	dekQuery     = "SELECT id, tenant_id, version, wrapped_key FROM data_keys WHERE wrapped_key IS NOT NULL"
	signingQuery = "SELECT id, sealed_private_key FROM signing_keys"
)

// readKeys reads the sealed keys of a CredVault database.
func readKeys(ctx context.Context, db *sql.DB) ([]sealedKey, error) {
	var keys []sealedKey
	rows, err := db.QueryContext(ctx, dekQuery)
	if err != nil {
		return nil, fmt.Errorf("backup: read data_keys: %w", err)
	}
	for rows.Next() {
		var id, tenant string
		k := sealedKey{}
		if err := rows.Scan(&id, &tenant, &k.version, &k.sealed); err != nil {
			rows.Close()
			return nil, fmt.Errorf("backup: read data_keys: %w", err)
		}
		if k.id, err = uuid.Parse(id); err == nil {
			k.tenant, err = uuid.Parse(tenant)
		}
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("backup: read data_keys: %w", err)
		}
		keys = append(keys, k)
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("backup: read data_keys: %w", err)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("backup: read data_keys: %w", err)
	}
	rows, err = db.QueryContext(ctx, signingQuery)
	if err != nil {
		return nil, fmt.Errorf("backup: read signing_keys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		k := sealedKey{signing: true}
		if err := rows.Scan(&id, &k.sealed); err != nil {
			return nil, fmt.Errorf("backup: read signing_keys: %w", err)
		}
		if k.id, err = uuid.Parse(id); err != nil {
			return nil, fmt.Errorf("backup: read signing_keys: %w", err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("backup: read signing_keys: %w", err)
	}
	return keys, nil
}

// keysFromRows builds the sealed keys from the text of data_keys and
// signing_keys rows, a pg_dump's COPY data.
func keysFromRows(deks, signing *copyTable) ([]sealedKey, error) {
	dc, err := deks.columns("id", "tenant_id", "version", "wrapped_key")
	if err != nil {
		return nil, err
	}
	sc, err := signing.columns("id", "sealed_private_key")
	if err != nil {
		return nil, err
	}
	var keys []sealedKey
	for _, r := range deks.rows {
		id, tenant, version, wrapped := r[dc[0]], r[dc[1]], r[dc[2]], r[dc[3]]
		if wrapped == nil {
			continue
		}
		if id == nil || tenant == nil || version == nil {
			return nil, errors.New("backup: a data_keys row lacks its id, tenant or version")
		}
		k := sealedKey{}
		if k.id, err = uuid.Parse(*id); err == nil {
			k.tenant, err = uuid.Parse(*tenant)
		}
		if err == nil {
			k.version, err = strconv.Atoi(*version)
		}
		if err == nil {
			k.sealed, err = decodeBytea(*wrapped)
		}
		if err != nil {
			return nil, fmt.Errorf("backup: data_keys: %w", err)
		}
		keys = append(keys, k)
	}
	for _, r := range signing.rows {
		id, sealed := r[sc[0]], r[sc[1]]
		if id == nil || sealed == nil {
			return nil, errors.New("backup: a signing_keys row lacks its id or sealed key")
		}
		k := sealedKey{signing: true}
		if k.id, err = uuid.Parse(*id); err == nil {
			k.sealed, err = decodeBytea(*sealed)
		}
		if err != nil {
			return nil, fmt.Errorf("backup: signing_keys: %w", err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}
