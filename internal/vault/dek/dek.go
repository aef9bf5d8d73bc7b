// Package dek keeps the tenants' data-encryption keys: created on a
// tenant's first secret, wrapped by the master key in the data_keys table,
// versioned and rotated, and cached unwrapped in memory. Re-encryption moves
// a tenant's credentials to its active DEK in batches, one transaction
// each, so a rotation interrupted at any point resumes where it stopped.
package dek

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/credential"
	"github.com/credvault/credvault/ent/datakey"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/vault/crypt"
)

// ErrDestroyed is returned for a DEK version that no longer exists.
var ErrDestroyed = errors.New("dek: key version destroyed")

type cacheKey struct {
	tenant  uuid.UUID
	version int
}

// Manager hands out DEKs.
type Manager struct {
	db *ent.Client
	// master wraps new DEKs; previous still unwraps during a master-key rotation.
	master, previous *crypt.MasterKey
	mu               sync.RWMutex
	cache            map[cacheKey]crypt.DEK
	// lock takes row locks on the active DEK (PostgreSQL; SQLite serialises
	// writers anyway): see Active.
	lock bool
}

// LockRows makes the manager lock DEK rows, for PostgreSQL, where writers
// and rotations run concurrently.
func (m *Manager) LockRows() *Manager {
	m.lock = true
	return m
}

// New returns a manager; previous may be nil.
func New(db *ent.Client, master, previous *crypt.MasterKey) *Manager {
	return &Manager{db: db, master: master, previous: previous, cache: map[cacheKey]crypt.DEK{}}
}

// Active returns the tenant's active DEK and its version, creating version 1
// with tx when the tenant has none. With row locks on, the active row is
// held FOR SHARE until tx ends: a rotation (which retires the row) waits for
// the writer, so re-encryption always sees what the writer sealed.
func (m *Manager) Active(ctx context.Context, tx *ent.Client, tenant uuid.UUID) (int, crypt.DEK, error) {
	ctx = store.Unrestricted(ctx)
	row, err := m.active(ctx, tx, tenant)
	if ent.IsNotFound(err) {
		return m.first(ctx, tx, tenant)
	}
	if err != nil {
		return 0, nil, err
	}
	k, err := m.unwrap(row)
	return row.Version, k, err
}

// active reads the tenant's active DEK row, FOR SHARE with row locks on.
func (m *Manager) active(ctx context.Context, tx *ent.Client, tenant uuid.UUID) (*ent.DataKey, error) {
	q := tx.DataKey.Query().Where(datakey.TenantID(tenant), datakey.StatusEQ(datakey.StatusActive)).
		Order(ent.Desc(datakey.FieldVersion))
	if m.lock {
		q = q.ForShare()
	}
	return q.First(ctx)
}

// first creates the tenant's version 1 DEK, or takes the one a concurrent
// first writer stored, so that every first writer of a tenant succeeds
// under the same key. The insert does nothing on a conflict instead of
// failing, so it never aborts tx; on PostgreSQL it waits until the other
// writer's transaction ends, whose row the next read then sees (or, had it
// rolled back, the insert is ours). A key not inserted is never returned.
func (m *Manager) first(ctx context.Context, tx *ent.Client, tenant uuid.UUID) (int, crypt.DEK, error) {
	k, wrapped, err := m.newKey(tenant, 1)
	if err != nil {
		return 0, nil, err
	}
	err = tx.DataKey.Create().SetTenantID(tenant).SetVersion(1).SetWrappedKey(wrapped).
		OnConflictColumns(datakey.FieldTenantID, datakey.FieldVersion).DoNothing().Exec(ctx)
	if err == nil {
		// Not cached: tx may still roll back. The first read caches it.
		return 1, k, nil
	}
	clear(k)
	if !errors.Is(err, sql.ErrNoRows) { // ent's answer when nothing was inserted
		return 0, nil, fmt.Errorf("dek: create version 1: %w", err)
	}
	row, err := m.active(ctx, tx, tenant)
	if ent.IsNotFound(err) {
		return 0, nil, fmt.Errorf("dek: tenant %s has DEKs but none active", tenant)
	}
	if err != nil {
		return 0, nil, err
	}
	k, err = m.unwrap(row)
	return row.Version, k, err
}

// create makes version of the tenant's DEK, active.
func (m *Manager) create(ctx context.Context, tx *ent.Client, tenant uuid.UUID, version int) (int, crypt.DEK, error) {
	k, wrapped, err := m.newKey(tenant, version)
	if err != nil {
		return 0, nil, err
	}
	if err := tx.DataKey.Create().SetTenantID(tenant).SetVersion(version).SetWrappedKey(wrapped).Exec(ctx); err != nil {
		return 0, nil, fmt.Errorf("dek: create version %d: %w", version, err)
	}
	// Not cached: tx may still roll back. The first read caches it.
	return version, k, nil
}

// newKey generates a DEK for version of the tenant and wraps it under the
// master key.
func (m *Manager) newKey(tenant uuid.UUID, version int) (crypt.DEK, []byte, error) {
	k, err := crypt.NewDEK()
	if err != nil {
		return nil, nil, err
	}
	wrapped, err := m.master.WrapDEK(k, tenant, version)
	if err != nil {
		return nil, nil, err
	}
	return k, wrapped, nil
}

// Key returns the tenant's DEK of version, to open what it sealed.
func (m *Manager) Key(ctx context.Context, tenant uuid.UUID, version int) (crypt.DEK, error) {
	m.mu.RLock()
	k := m.cache[cacheKey{tenant, version}]
	m.mu.RUnlock()
	if k != nil {
		return k, nil
	}
	row, err := m.db.DataKey.Query().Where(datakey.TenantID(tenant), datakey.Version(version)).Only(store.Unrestricted(ctx))
	if ent.IsNotFound(err) {
		return nil, ErrDestroyed
	}
	if err != nil {
		return nil, err
	}
	return m.unwrap(row)
}

// unwrap opens a DEK row with the master key, or the previous one while a
// master-key rotation is under way.
func (m *Manager) unwrap(row *ent.DataKey) (crypt.DEK, error) {
	if row.Status == datakey.StatusDestroyed || row.WrappedKey == nil {
		return nil, ErrDestroyed
	}
	k, err := m.master.UnwrapDEK(*row.WrappedKey, row.TenantID, row.Version)
	if err != nil && m.previous != nil {
		k, err = m.previous.UnwrapDEK(*row.WrappedKey, row.TenantID, row.Version)
	}
	if err != nil {
		return nil, fmt.Errorf("dek: the master key does not open DEK v%d of tenant %s: %w", row.Version, row.TenantID, err)
	}
	m.put(row.TenantID, row.Version, k)
	return k, nil
}

func (m *Manager) put(tenant uuid.UUID, version int, k crypt.DEK) {
	m.mu.Lock()
	m.cache[cacheKey{tenant, version}] = k
	m.mu.Unlock()
}

// Rotate makes a new DEK version the tenant's active one, with tx: new
// writes use it at once; older versions are retired, still opening what
// they sealed until re-encryption moves it.
func (m *Manager) Rotate(ctx context.Context, tx *ent.Client, tenant uuid.UUID) (int, error) {
	ctx = store.Unrestricted(ctx)
	latest, err := tx.DataKey.Query().Where(datakey.TenantID(tenant)).Order(ent.Desc(datakey.FieldVersion)).First(ctx)
	next := 1
	switch {
	case ent.IsNotFound(err):
	case err != nil:
		return 0, err
	default:
		next = latest.Version + 1
	}
	if err := tx.DataKey.Update().Where(datakey.TenantID(tenant), datakey.StatusEQ(datakey.StatusActive)).
		SetStatus(datakey.StatusRetired).Exec(ctx); err != nil {
		return 0, err
	}
	v, _, err := m.create(ctx, tx, tenant, next)
	return v, err
}

// Reencrypt moves up to maxBatches batches of the tenant's credentials that
// are sealed under an older DEK to the active one, each batch in its own
// transaction; maxBatches <= 0 means until none is left. It returns how many
// credentials still wait, and destroys the old DEKs once nothing uses them.
// Each batch reads the active version afresh, so a rotation started meanwhile
// is followed, never undone.
func (m *Manager) Reencrypt(ctx context.Context, tenant uuid.UUID, batchSize, maxBatches int) (remaining int, err error) {
	ctx = store.Unrestricted(ctx)
	for batch := 0; maxBatches <= 0 || batch < maxBatches; batch++ {
		n, err := m.reencryptBatch(ctx, tenant, batchSize)
		if err != nil {
			return 0, err
		}
		if n == 0 {
			break
		}
	}
	version, _, err := m.Active(ctx, m.db, tenant)
	if err != nil {
		return 0, err
	}
	remaining, err = m.db.Credential.Query().Where(credential.TenantID(tenant), credential.DekVersionLT(version)).Count(ctx)
	if err != nil || remaining > 0 {
		return remaining, err
	}
	return 0, m.destroyUnused(ctx, tenant)
}

// reencryptBatch re-seals one batch under the active DEK, in one
// transaction, and returns how many credentials it moved.
func (m *Manager) reencryptBatch(ctx context.Context, tenant uuid.UUID, size int) (int, error) {
	moved := 0
	err := store.WithTx(ctx, m.db, func(ctx context.Context, tx *ent.Client) error {
		version, newKey, err := m.Active(ctx, tx, tenant)
		if err != nil {
			return err
		}
		rows, err := tx.Credential.Query().Where(credential.TenantID(tenant), credential.DekVersionLT(version)).
			Order(ent.Asc(credential.FieldID)).Limit(size).All(ctx)
		if err != nil {
			return err
		}
		for _, c := range rows {
			old, err := m.Key(ctx, tenant, c.DekVersion)
			if err != nil {
				return err
			}
			pt, err := crypt.OpenCredential(old, c.Ciphertext, tenant, c.ID, c.DekVersion)
			if err != nil {
				return fmt.Errorf("dek: open credential %s: %w", c.ID, err)
			}
			ct, err := crypt.SealCredential(newKey, pt, tenant, c.ID, version)
			clear(pt)
			if err != nil {
				return err
			}
			err = tx.Credential.Update().Where(credential.ID(c.ID), credential.DekVersion(c.DekVersion)).
				SetCiphertext(ct).SetDekVersion(version).Exec(ctx)
			if err != nil {
				return err
			}
		}
		moved = len(rows)
		return nil
	})
	return moved, err
}

// destroyUnused destroys the tenant's retired DEKs that no credential uses:
// the wrapped key is erased, only the version number remains. Each check and
// erase is one transaction holding the DEK row, which writers share-lock.
func (m *Manager) destroyUnused(ctx context.Context, tenant uuid.UUID) error {
	versions, err := m.db.DataKey.Query().Where(datakey.TenantID(tenant), datakey.StatusEQ(datakey.StatusRetired)).
		Select(datakey.FieldVersion).Ints(ctx)
	if err != nil {
		return err
	}
	for _, v := range versions {
		err := store.WithTx(ctx, m.db, func(ctx context.Context, tx *ent.Client) error {
			q := tx.DataKey.Query().Where(datakey.TenantID(tenant), datakey.Version(v), datakey.StatusEQ(datakey.StatusRetired))
			if m.lock {
				q = q.ForUpdate()
			}
			row, err := q.Only(ctx)
			if ent.IsNotFound(err) {
				return nil
			}
			if err != nil {
				return err
			}
			used, err := tx.Credential.Query().Where(credential.TenantID(tenant), credential.DekVersion(v)).Exist(ctx)
			if err != nil || used {
				return err
			}
			return tx.DataKey.UpdateOne(row).ClearWrappedKey().SetStatus(datakey.StatusDestroyed).Exec(ctx)
		})
		if err != nil {
			return err
		}
		m.mu.Lock()
		delete(m.cache, cacheKey{tenant, v})
		m.mu.Unlock()
	}
	return nil
}

// Rewrap rewraps every DEK that is not destroyed under next, with tx: the
// master-key rotation. Each DEK is opened with the manager's keys.
func (m *Manager) Rewrap(ctx context.Context, tx *ent.Client, next *crypt.MasterKey) (int, error) {
	ctx = store.Unrestricted(ctx)
	rows, err := tx.DataKey.Query().Where(datakey.StatusNEQ(datakey.StatusDestroyed)).All(ctx)
	if err != nil {
		return 0, err
	}
	for _, r := range rows {
		k, err := m.unwrap(r)
		if err != nil {
			return 0, err
		}
		wrapped, err := next.WrapDEK(k, r.TenantID, r.Version)
		if err != nil {
			return 0, err
		}
		if err := tx.DataKey.UpdateOne(r).SetWrappedKey(wrapped).Exec(ctx); err != nil {
			return 0, err
		}
	}
	return len(rows), nil
}
