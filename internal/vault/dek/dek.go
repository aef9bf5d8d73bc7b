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
	"runtime"
	"strings"
	"sync"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/credential"
	"github.com/credvault/credvault/ent/datakey"
	"github.com/credvault/credvault/ent/predicate"
	"github.com/credvault/credvault/ent/ssoconfig"
	"github.com/credvault/credvault/ent/tenant"
	"github.com/credvault/credvault/ent/webhook"
	"github.com/credvault/credvault/internal/platform/invalidate"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/vault/crypt"
)

// BatchSize is how many credentials one re-encryption transaction moves:
// enough that a batch's few round trips are small against its rows' work
// (each batch seeks past the last, never rescanning), few enough that a
// batch holds its rows' locks only briefly.
const BatchSize = 2000

// serialBatchSize caps batches without row locks (SQLite), where a batch
// holds the database's one write lock that every other writer (requests,
// job lease renewals) waits for.
const serialBatchSize = 500

// MaxBatchSize caps a batch so that its one UPDATE stays within both
// databases' limits on parameters (three a row).
const MaxBatchSize = 5000

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
	// bus announces destroyed DEKs to every instance; nil announces nothing.
	bus *invalidate.Bus
	// lock takes row locks on the active DEK (PostgreSQL; SQLite serialises
	// writers anyway), see Active, and writes re-encryption batches
	// concurrently, see Reencrypt.
	lock bool
}

// LockRows makes the manager lock DEK rows, for PostgreSQL, where writers
// and rotations run concurrently (re-encryption batches too).
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
// under the same key. A key not inserted is never returned.
func (m *Manager) first(ctx context.Context, tx *ent.Client, tenant uuid.UUID) (int, crypt.DEK, error) {
	k, err := m.insertFirst(ctx, tx, tenant)
	if err != nil || k != nil {
		// Not cached: tx may still roll back. The first read caches it.
		return 1, k, err
	}
	row, err := m.active(ctx, tx, tenant)
	if ent.IsNotFound(err) {
		// The locked read waited for a rotation that retired the row it
		// found; the next statement sees the rotation's version.
		row, err = m.active(ctx, tx, tenant)
	}
	if ent.IsNotFound(err) {
		return 0, nil, fmt.Errorf("dek: tenant %s has DEKs but none active", tenant)
	}
	if err != nil {
		return 0, nil, err
	}
	k, err = m.unwrap(row)
	return row.Version, k, err
}

// insertFirst inserts the tenant's version 1 DEK, active, and returns it; or
// nil when a concurrent transaction inserted one first. The insert does
// nothing on a conflict instead of failing, so it never aborts tx; on
// PostgreSQL it waits until the other transaction ends, whose row the next
// read then sees (or, had it rolled back, the insert is ours).
func (m *Manager) insertFirst(ctx context.Context, tx *ent.Client, tenant uuid.UUID) (crypt.DEK, error) {
	k, wrapped, err := m.newKey(tenant, 1)
	if err != nil {
		return nil, err
	}
	err = tx.DataKey.Create().SetTenantID(tenant).SetVersion(1).SetWrappedKey(wrapped).
		OnConflictColumns(datakey.FieldTenantID, datakey.FieldVersion).DoNothing().Exec(ctx)
	if err == nil {
		return k, nil
	}
	clear(k)
	if !errors.Is(err, sql.ErrNoRows) { // ent's answer when nothing was inserted
		return nil, fmt.Errorf("dek: create version 1: %w", err)
	}
	return nil, nil
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
	if len(m.cache) >= maxCachedDEKs {
		// Full: start over rather than track recency on the hot path.
		m.cache = map[cacheKey]crypt.DEK{}
	}
	m.cache[cacheKey{tenant, version}] = k
	m.mu.Unlock()
}

// Rotate makes a new DEK version the tenant's active one, with tx: new
// writes use it at once; older versions are retired, still opening what
// they sealed until re-encryption moves it. With row locks on, the
// tenant's rotations take turns (see takeTurn), so concurrent ones all
// succeed, each a version after the one before.
func (m *Manager) Rotate(ctx context.Context, tx *ent.Client, tenant uuid.UUID) (int, error) {
	ctx = store.Unrestricted(ctx)
	if err := m.takeTurn(ctx, tx, tenant); err != nil {
		return 0, err
	}
	latest, err := m.latest(ctx, tx, tenant)
	if ent.IsNotFound(err) {
		// The tenant's first DEK, which its first writer may be creating
		// at this moment: whichever inserts version 1, this rotation comes
		// after it.
		k, ierr := m.insertFirst(ctx, tx, tenant)
		if ierr != nil || k != nil {
			clear(k)
			return 1, ierr
		}
		latest, err = m.latest(ctx, tx, tenant)
	}
	if err != nil {
		return 0, err
	}
	next := latest.Version + 1
	if err := tx.DataKey.Update().Where(datakey.TenantID(tenant), datakey.StatusEQ(datakey.StatusActive)).
		SetStatus(datakey.StatusRetired).Exec(ctx); err != nil {
		return 0, err
	}
	v, _, err := m.create(ctx, tx, tenant, next)
	return v, err
}

// latest reads the tenant's newest DEK row, whatever its status.
func (m *Manager) latest(ctx context.Context, tx *ent.Client, tenant uuid.UUID) (*ent.DataKey, error) {
	return tx.DataKey.Query().Where(datakey.TenantID(tenant)).Order(ent.Desc(datakey.FieldVersion)).First(ctx)
}

// takeTurn holds the tenant's row (store.ForUpdate) until tx ends: a
// concurrent rotation of the tenant waits for this one, then reads the
// version it committed (without it, both took the same next version and one
// failed on its uniqueness). Inserts referencing the tenant, every
// credential write's, do not wait on it.
func (m *Manager) takeTurn(ctx context.Context, tx *ent.Client, id uuid.UUID) error {
	if !m.lock {
		return nil // SQLite: writers are serialised anyway
	}
	// None for a tenant gone: the DEK insert then fails on its reference.
	_, err := tx.Tenant.Query().Where(tenant.ID(id), store.ForUpdate).IDs(ctx)
	return err
}

// Reencrypt moves up to maxBatches batches of the tenant's credentials that
// are sealed under an older DEK to the active one, each batch in its own
// transaction; maxBatches <= 0 means until none is left. It returns how many
// credentials still wait, and destroys the old DEKs once nothing uses them.
// Each batch reads the active version afresh, so a rotation started meanwhile
// is followed, never undone. With row locks on (PostgreSQL), one batch per
// core is written at a time: the database's index upkeep is most of the
// cost, and each batch's backend does its own.
func (m *Manager) Reencrypt(ctx context.Context, tenant uuid.UUID, batchSize, maxBatches int) (remaining int, err error) {
	ctx = store.Unrestricted(ctx)
	r := &reencryption{m: m, tenant: tenant, size: min(batchSize, MaxBatchSize), left: maxBatches}
	workers := 1
	if m.lock {
		workers = runtime.GOMAXPROCS(0)
	} else {
		r.size = min(r.size, serialBatchSize)
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() { errs[w] = r.run(ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	version, _, err := m.Active(ctx, m.db, tenant)
	if err != nil {
		return 0, err
	}
	if err := m.resealWebhooks(ctx, tenant, version); err != nil {
		return 0, err
	}
	if err := m.resealSSO(ctx, tenant, version); err != nil {
		return 0, err
	}
	remaining, err = m.db.Credential.Query().Where(credential.TenantID(tenant), credential.DekVersionLT(version)).Count(ctx)
	if err != nil || remaining > 0 {
		return remaining, err
	}
	return 0, m.destroyUnused(ctx, tenant)
}

// reencryption is one Reencrypt call, shared by its workers. Batches are
// claimed in id order under mu: the claiming worker reads the next rows
// past the cursor, in the transaction that later writes them, so every
// batch seeks past the one before instead of scanning moved rows again.
type reencryption struct {
	m      *Manager
	tenant uuid.UUID
	size   int

	mu      sync.Mutex
	left    int // batches still allowed; <= 0 at the start means no limit
	done    bool
	version int       // the active version the cursor belongs to
	after   uuid.UUID // the last id claimed under version
}

// run writes batches until none is left, the limit is reached, or a batch
// fails, which stops the other workers after their current batch.
func (r *reencryption) run(ctx context.Context) error {
	for {
		more, err := r.batch(ctx)
		if err != nil {
			r.mu.Lock()
			r.done = true
			r.mu.Unlock()
			return err
		}
		if !more {
			return nil
		}
	}
}

// batch re-seals one batch under the active DEK in one transaction: the
// rows claimed, sealed anew across the cores, written in one statement. It
// reports whether there may be more.
func (r *reencryption) batch(ctx context.Context) (more bool, err error) {
	err = store.WithTx(ctx, r.m.db, func(ctx context.Context, tx *ent.Client) error {
		version, key, rows, dia, err := r.claim(ctx, tx)
		if err != nil || len(rows) == 0 {
			return err
		}
		more = true
		sealed, err := r.m.reseal(ctx, r.tenant, version, key, rows)
		if err != nil {
			return err
		}
		if dia == dialect.Postgres {
			// Not waiting for the WAL flush is safe here: a batch lost in a
			// crash is simply redone, its rows still on the old DEK.
			if _, err := tx.ExecContext(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
				return err
			}
		}
		query, args := batchUpdate(dia, r.tenant, version, rows, sealed)
		_, err = tx.ExecContext(ctx, query, args...)
		return err
	})
	return more, err
}

// claim reads the next batch in tx, under the active DEK's share lock. A
// new active version (a rotation meanwhile) starts the cursor over: every
// row is then old again.
func (r *reencryption) claim(ctx context.Context, tx *ent.Client) (int, crypt.DEK, []*ent.Credential, string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return 0, nil, nil, "", nil
	}
	version, key, err := r.m.Active(ctx, tx, r.tenant)
	if err != nil {
		return 0, nil, nil, "", err
	}
	if version != r.version {
		r.version, r.after = version, uuid.Nil
	}
	var dia string
	rows, err := tx.Credential.Query().
		Where(credential.TenantID(r.tenant), credential.IDGT(r.after), credential.DekVersionLT(version), dialectOf(&dia)).
		Order(ent.Asc(credential.FieldID)).Limit(r.size).
		Select(credential.FieldID, credential.FieldDekVersion, credential.FieldCiphertext).All(ctx)
	if err != nil {
		return 0, nil, nil, "", err
	}
	if len(rows) == 0 {
		r.done = true
		return 0, nil, nil, "", nil
	}
	r.after = rows[len(rows)-1].ID
	if r.left--; r.left == 0 {
		r.done = true
	}
	return version, key, rows, dia, nil
}

// dialectOf is a predicate that adds no condition: it records the SQL
// dialect of the query it is part of, which the raw batch UPDATE needs.
func dialectOf(dia *string) predicate.Credential {
	return func(s *entsql.Selector) { *dia = s.Dialect() }
}

// reseal opens each credential with the DEK it was sealed under and seals
// it under key (version), the rows split across the cores.
func (m *Manager) reseal(ctx context.Context, tenant uuid.UUID, version int, key crypt.DEK, rows []*ent.Credential) ([][]byte, error) {
	old := map[int]crypt.DEK{}
	for _, c := range rows {
		if _, ok := old[c.DekVersion]; ok {
			continue
		}
		k, err := m.Key(ctx, tenant, c.DekVersion)
		if err != nil {
			return nil, err
		}
		old[c.DekVersion] = k
	}
	sealed := make([][]byte, len(rows))
	workers := min(runtime.GOMAXPROCS(0), len(rows))
	per := (len(rows) + workers - 1) / workers
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w * per; i < min((w+1)*per, len(rows)); i++ {
				c := rows[i]
				pt, err := crypt.Credential.Open(old[c.DekVersion], c.Ciphertext, tenant, c.ID, c.DekVersion)
				if err != nil {
					errs[w] = fmt.Errorf("dek: open credential %s: %w", c.ID, err)
					return
				}
				sealed[i], err = crypt.Credential.Seal(key, pt, tenant, c.ID, version)
				clear(pt)
				if err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return sealed, nil
}

// batchUpdate is one UPDATE … FROM (VALUES …) statement writing the
// re-sealed rows of tenant under version. A row whose dek_version changed
// since the batch read it is left alone: a writer has sealed it under the
// active DEK. The batch's id range, redundant with the join, lets
// PostgreSQL read just those rows by index rather than join the whole
// table. updated_at stays, as on every re-seal: a key rotation is not an
// edit, and PostgreSQL can update a row without new index entries (HOT)
// only when no indexed column changes.
func batchUpdate(dia string, tenant uuid.UUID, version int, rows []*ent.Credential, sealed [][]byte) (string, []any) {
	// PostgreSQL types the VALUES columns from the first row's casts.
	first := "($%d::uuid, $%d::bytea, $%d::bigint)"
	if dia != dialect.Postgres {
		first = "($%d, $%d, $%d)"
	}
	var b strings.Builder
	b.WriteString("UPDATE credentials SET ciphertext = v.column2, dek_version = $1 FROM (VALUES ")
	args := make([]any, 0, 4+3*len(rows))
	args = append(args, version, tenant, rows[0].ID, rows[len(rows)-1].ID)
	for i, c := range rows {
		n := len(args)
		if i == 0 {
			fmt.Fprintf(&b, first, n+1, n+2, n+3)
		} else {
			fmt.Fprintf(&b, ", ($%d, $%d, $%d)", n+1, n+2, n+3)
		}
		args = append(args, c.ID, sealed[i], c.DekVersion)
	}
	b.WriteString(") AS v WHERE credentials.id = v.column1 AND credentials.dek_version = v.column3" +
		" AND credentials.tenant_id = $2 AND credentials.id >= $3 AND credentials.id <= $4")
	return b.String(), args
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
			if used, err = tx.Webhook.Query().Where(webhook.TenantID(tenant), webhook.DekVersion(v)).Exist(ctx); err != nil || used {
				return err
			}
			if used, err = tx.SSOConfig.Query().Where(ssoconfig.TenantID(tenant), ssoconfig.DekVersion(v)).Exist(ctx); err != nil || used {
				return err
			}
			if err := tx.DataKey.UpdateOne(row).ClearWrappedKey().SetStatus(datakey.StatusDestroyed).Exec(ctx); err != nil {
				return err
			}
			return m.destroyed(ctx, tx, tenant)
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

// resealWebhooks moves the secrets of the tenant's webhook endpoints to
// DEK version, in one transaction: a tenant has few endpoints.
func (m *Manager) resealWebhooks(ctx context.Context, tenant uuid.UUID, version int) error {
	return store.WithTx(ctx, m.db, func(ctx context.Context, tx *ent.Client) error {
		hooks, err := tx.Webhook.Query().Where(webhook.TenantID(tenant), webhook.DekVersionNEQ(version)).All(ctx)
		if err != nil {
			return err
		}
		for _, h := range hooks {
			sealed, err := m.moveSeal(ctx, crypt.WebhookSecret, tenant, h.ID, h.DekVersion, version, h.SecretSealed)
			if err != nil {
				return err
			}
			// A re-seal is not an edit: updated_at stays. Conditional on the
			// version read, as credentials' batches: a secret rotated
			// meanwhile was sealed under the active DEK, and stays.
			upd := tx.Webhook.UpdateOne(h).Where(webhook.DekVersion(h.DekVersion)).
				SetSecretSealed(sealed).SetDekVersion(version).SetUpdatedAt(h.UpdatedAt)
			// ent reads a NULL column as a pointer to an empty slice.
			if h.PreviousSecretSealed != nil && len(*h.PreviousSecretSealed) > 0 {
				prev, err := m.moveSeal(ctx, crypt.WebhookSecret, tenant, h.ID, h.DekVersion, version, *h.PreviousSecretSealed)
				if err != nil {
					return err
				}
				upd.SetPreviousSecretSealed(prev)
			}
			if err := upd.Exec(ctx); err != nil && !ent.IsNotFound(err) {
				return err
			}
		}
		return nil
	})
}

// resealSSO moves the tenant's SSO client secret, if any, to DEK version.
func (m *Manager) resealSSO(ctx context.Context, tenant uuid.UUID, version int) error {
	return store.WithTx(ctx, m.db, func(ctx context.Context, tx *ent.Client) error {
		cfg, err := tx.SSOConfig.Query().Where(ssoconfig.TenantID(tenant), ssoconfig.DekVersionNEQ(version)).Only(ctx)
		if ent.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		sealed, err := m.moveSeal(ctx, crypt.SSOSecret, tenant, cfg.ID, cfg.DekVersion, version, cfg.ClientSecretSealed)
		if err != nil {
			return err
		}
		err = tx.SSOConfig.UpdateOne(cfg).Where(ssoconfig.DekVersion(cfg.DekVersion)).
			SetClientSecretSealed(sealed).SetDekVersion(version).SetUpdatedAt(cfg.UpdatedAt).Exec(ctx)
		if ent.IsNotFound(err) {
			return nil // a secret set meanwhile was sealed under the active DEK
		}
		return err
	})
}

// moveSeal opens sealed, a value of kind of row id sealed with DEK version
// from, and seals it again with version to.
func (m *Manager) moveSeal(ctx context.Context, kind crypt.Kind, tenant, id uuid.UUID, from, to int, sealed []byte) ([]byte, error) {
	old, err := m.Key(ctx, tenant, from)
	if err != nil {
		return nil, err
	}
	plain, err := kind.Open(old, sealed, tenant, id, from)
	if err != nil {
		return nil, err
	}
	key, err := m.Key(ctx, tenant, to)
	if err != nil {
		return nil, err
	}
	return kind.Seal(key, plain, tenant, id, to)
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

// Reopen opens row, a sealed row as it was read, with open; when that
// fails — a rotation may have re-sealed the row and destroyed the DEK it
// was sealed under since it was read — it reads the row again with reread
// and opens that, once. Every reader of a sealed row goes through it.
func Reopen[R, T any](row R, open func(R) (T, error), reread func() (R, error)) (T, error) {
	v, err := open(row)
	if err == nil {
		return v, nil
	}
	fresh, err := reread()
	if err != nil {
		return v, err
	}
	return open(fresh)
}
