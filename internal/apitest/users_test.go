package apitest_test

// Users administration over real HTTP, on SQLite and PostgreSQL: every role
// against the writes it may and may not do, tenant isolation on every users
// route, create/list/update/delete with their audit entries, and the rules
// that end sessions and keep a tenant's last owner.

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/ent/refreshtoken"
	"github.com/credvault/credvault/ent/user"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/apitest"
)

// listUsers lists the users a bearer sees with query, expecting 200.
func listUsers(t *testing.T, e *apitest.Env, bearer, query string) ([]userJSON, map[string]any) {
	t.Helper()
	var users []userJSON
	page := listPage(t, e, bearer, "/api/v1/admin/users"+query, &users)
	return users, page
}

func emails(us []userJSON) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.Email
	}
	return out
}

// userCount counts the users of a tenant with email in the database.
func userCount(t *testing.T, e *apitest.Env, email string) int {
	t.Helper()
	n, err := e.Store.Client.User.Query().Where(user.Email(email)).Count(unrestricted())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// ---------------------------------------------------------------------------
// 6. every role against a write it may and may not do

func TestRolesAgainstUserAndServiceAccountWrites(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		owner := register(t, e, "Roles", ownedBy("owner@roles.test"))
		tid := uid(t, owner.Tenant.ID)
		tok := map[string]string{"owner": owner.AccessToken}
		ids := map[string]string{"owner": owner.User.ID}
		for _, role := range []string{"admin", "member", "viewer"} {
			u := createUser(t, e, owner.AccessToken, role+"@roles.test", role, testPassword)
			if u.Role != role {
				t.Fatalf("created %s with role %s", role, u.Role)
			}
			s := login(t, e, role+"@roles.test", testPassword, "")
			tok[role], ids[role] = s.AccessToken, u.ID
		}
		// Each session holds exactly its role's scopes.
		for _, role := range access.Roles {
			m := me(t, e, tok[role])
			if m.User == nil || m.User.Role != role || !slices.Equal(sorted(m.Scopes), sorted(access.ForRole(role, false).List())) {
				t.Fatalf("%s session: role %v scopes %v", role, m.User, m.Scopes)
			}
		}

		// Everyone may read the users.
		for _, role := range access.Roles {
			if us, _ := listUsers(t, e, tok[role], ""); len(us) != 4 {
				t.Fatalf("%s lists %d users, want 4", role, len(us))
			}
		}

		// Viewer and member may not create, change or delete users.
		for _, role := range []string{"viewer", "member"} {
			email := "by-" + role + "@roles.test"
			r := do(e, http.MethodPost, "/api/v1/admin/users", tok[role], map[string]any{"email": email, "role": "viewer"})
			wantError(t, r, http.StatusForbidden, "FORBIDDEN", "required_scope", access.UsersWrite)
			if userCount(t, e, email) != 0 {
				t.Fatalf("a refused create by a %s made a user", role)
			}
			denied := 0
			for _, a := range auditEntries(t, e, tid, "permission.denied", "") {
				if a.ActorID == ids[role] && a.Outcome == auditlog.OutcomeDenied && a.Details["required_scope"] == access.UsersWrite {
					denied++
				}
			}
			if denied != 1 {
				t.Fatalf("%d permission.denied entries for the %s, want 1", denied, role)
			}
			wantError(t, do(e, http.MethodPatch, "/api/v1/admin/users/"+ids["viewer"], tok[role], map[string]any{"name": "x"}),
				http.StatusForbidden, "FORBIDDEN", "required_scope", access.UsersWrite)
			wantError(t, do(e, http.MethodDelete, "/api/v1/admin/users/"+ids["viewer"], tok[role], nil),
				http.StatusForbidden, "FORBIDDEN", "required_scope", access.UsersWrite)
			r = do(e, http.MethodPost, "/api/v1/admin/service-account/create", tok[role], map[string]any{"name": "sa", "scopes": []string{}})
			wantError(t, r, http.StatusForbidden, "FORBIDDEN", "required_scope", access.ServiceAccountsWrite)
		}
		if v := dbUser(t, e, uid(t, ids["viewer"])); v == nil || v.Name != "User viewer" {
			t.Fatal("a refused update or delete changed the viewer")
		}
		// GraphQL refuses the same way.
		g := e.GraphQL(`mutation { createUser(input: {email: "gql@roles.test", role: viewer}) { id } }`, nil, tok["viewer"])
		wantGQLError(t, g, "FORBIDDEN", "required_scope", access.UsersWrite)

		// Admin: may create a member and an admin, not an owner; may not touch an owner.
		m2 := createUser(t, e, tok["admin"], "member2@roles.test", "member", "")
		createUser(t, e, tok["admin"], "admin2@roles.test", "admin", "")
		r := do(e, http.MethodPost, "/api/v1/admin/users", tok["admin"], map[string]any{"email": "boss@roles.test", "role": "owner"})
		wantError(t, r, http.StatusForbidden, "FORBIDDEN", "required_scope", access.TenantDelete)
		if userCount(t, e, "boss@roles.test") != 0 {
			t.Fatal("an admin created an owner")
		}
		// (An admin changing or deleting an owner: TestAdminCannotChangeAnOwner.)
		wantStatus(t, do(e, http.MethodPatch, "/api/v1/admin/users/"+m2.ID, tok["admin"], map[string]any{"role": "viewer"}), http.StatusOK)
		wantStatus(t, do(e, http.MethodDelete, "/api/v1/admin/users/"+m2.ID, tok["admin"], nil), http.StatusOK)
		// Service accounts: never beyond the caller's scopes.
		r = do(e, http.MethodPost, "/api/v1/admin/service-account/create", tok["admin"], map[string]any{"name": "too much", "scopes": []string{access.UsersRead, access.TenantDelete}})
		wantError(t, r, http.StatusForbidden, "FORBIDDEN", "required_scope", access.TenantDelete)
		r = do(e, http.MethodPost, "/api/v1/admin/service-account/create", tok["admin"], map[string]any{"name": "fine", "scopes": []string{access.UsersRead}})
		wantStatus(t, r, http.StatusCreated)
		r = do(e, http.MethodPost, "/api/v1/admin/service-account/create", tok["owner"], map[string]any{"name": "godlike", "scopes": []string{access.PlatformAdmin}})
		wantError(t, r, http.StatusForbidden, "FORBIDDEN", "required_scope", access.PlatformAdmin)
		g = e.GraphQL(`mutation { createServiceAccount(input: {name: "x", scopes: ["tenant:delete"]}) { serviceAccount { id } } }`, nil, tok["admin"])
		wantGQLError(t, g, "FORBIDDEN", "required_scope", access.TenantDelete)
		n, err := e.Store.Client.ServiceAccount.Query().Count(unrestricted())
		if err != nil || n != 1 {
			t.Fatalf("%d service accounts (%v), want only the allowed one", n, err)
		}

		// Owner: may create an owner, change and delete an admin, delete another owner.
		o2 := createUser(t, e, tok["owner"], "owner2@roles.test", "owner", "")
		wantStatus(t, do(e, http.MethodPatch, "/api/v1/admin/users/"+ids["admin"], tok["owner"], map[string]any{"role": "member"}), http.StatusOK)
		wantStatus(t, do(e, http.MethodDelete, "/api/v1/admin/users/"+ids["admin"], tok["owner"], nil), http.StatusOK)
		wantStatus(t, do(e, http.MethodDelete, "/api/v1/admin/users/"+o2.ID, tok["owner"], nil), http.StatusOK)
		if dbUser(t, e, uid(t, o2.ID)) != nil || dbUser(t, e, uid(t, ids["admin"])) != nil {
			t.Fatal("deleted users are still in the database")
		}
	})
}

// TestAdminCannotChangeAnOwner: the role ceiling keeps an admin from
// deleting, disabling or promoting to owner.
func TestAdminCannotChangeAnOwner(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		owner := register(t, e, "Ceiling", ownedBy("owner@ceil.test"))
		tid := uid(t, owner.Tenant.ID)
		admin := createUser(t, e, owner.AccessToken, "admin@ceil.test", "admin", testPassword)
		as := login(t, e, "admin@ceil.test", testPassword, "").AccessToken
		m := createUser(t, e, owner.AccessToken, "m@ceil.test", "member", "")

		wantError(t, do(e, http.MethodDelete, "/api/v1/admin/users/"+owner.User.ID, as, nil), http.StatusForbidden, "FORBIDDEN", "required_scope", access.TenantDelete)
		wantError(t, do(e, http.MethodPatch, "/api/v1/admin/users/"+owner.User.ID, as, map[string]any{"status": "disabled"}),
			http.StatusForbidden, "FORBIDDEN", "required_scope", access.TenantDelete)
		wantError(t, do(e, http.MethodPatch, "/api/v1/admin/users/"+m.ID, as, map[string]any{"role": "owner"}),
			http.StatusForbidden, "FORBIDDEN", "required_scope", access.TenantDelete)
		wantError(t, do(e, http.MethodPatch, "/api/v1/admin/users/"+admin.ID, as, map[string]any{"role": "owner"}),
			http.StatusForbidden, "FORBIDDEN", "required_scope", access.TenantDelete)
		wantGQLError(t, e.GraphQL(`mutation($id: ID!) { deleteUser(id: $id) }`, map[string]any{"id": owner.User.ID}, as),
			"FORBIDDEN", "required_scope", access.TenantDelete)
		if o := dbUser(t, e, uid(t, owner.User.ID)); o == nil || o.Status != user.StatusActive || o.Role != user.RoleOwner {
			t.Fatal("an admin changed the owner")
		}
		if u := dbUser(t, e, uid(t, m.ID)); u.Role != user.RoleMember {
			t.Fatalf("an admin promoted a member to %s", u.Role)
		}
		if u := dbUser(t, e, uid(t, admin.ID)); u.Role != user.RoleAdmin {
			t.Fatalf("an admin promoted itself to %s", u.Role)
		}
		denied := 0
		for _, a := range auditEntries(t, e, tid, "permission.denied", "") {
			if a.ActorID == admin.ID && a.Details["required_scope"] == access.TenantDelete {
				denied++
			}
		}
		if denied != 5 {
			t.Fatalf("%d permission.denied entries for the admin, want 5", denied)
		}
		me(t, e, owner.AccessToken)
	})
}

// ---------------------------------------------------------------------------
// 8. another tenant's users are 404 on every users route

func TestUsersOfAnotherTenantAreNotFound(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		a := register(t, e, "Tenant A", ownedBy("a@a.test"))
		b := register(t, e, "Tenant B", ownedBy("b@b.test"))
		bm := createUser(t, e, b.AccessToken, "member@b.test", "member", "")
		createUser(t, e, a.AccessToken, "member@a.test", "member", "")
		before := dbUser(t, e, uid(t, bm.ID))

		// A nonexistent id is the reference answer; B's ids must look exactly like it.
		ref := do(e, http.MethodPatch, "/api/v1/admin/users/"+uuid.NewString(), a.AccessToken, map[string]any{"name": "x"})
		wantError(t, ref, http.StatusNotFound, "NOT_FOUND")
		for _, id := range []string{bm.ID, b.User.ID} {
			r := do(e, http.MethodPatch, "/api/v1/admin/users/"+id, a.AccessToken, map[string]any{"name": "pwned", "role": "viewer", "status": "disabled"})
			wantError(t, r, http.StatusNotFound, "NOT_FOUND")
			if r.Envelope.Error.Message != ref.Envelope.Error.Message {
				t.Fatalf("another tenant's id answers %q, a missing one %q", r.Envelope.Error.Message, ref.Envelope.Error.Message)
			}
			wantError(t, do(e, http.MethodDelete, "/api/v1/admin/users/"+id, a.AccessToken, nil), http.StatusNotFound, "NOT_FOUND")
		}
		for _, bad := range []string{"not-a-uuid", "1", "%20"} {
			wantError(t, do(e, http.MethodPatch, "/api/v1/admin/users/"+bad, a.AccessToken, map[string]any{"name": "x"}), http.StatusNotFound, "NOT_FOUND")
			wantError(t, do(e, http.MethodDelete, "/api/v1/admin/users/"+bad, a.AccessToken, nil), http.StatusNotFound, "NOT_FOUND")
		}
		after := dbUser(t, e, uid(t, bm.ID))
		if after == nil || after.Name != before.Name || after.Role != before.Role || after.Status != before.Status || !after.UpdatedAt.Equal(before.UpdatedAt) {
			t.Fatal("tenant A changed tenant B's user")
		}
		if o := dbUser(t, e, uid(t, b.User.ID)); o == nil || o.Status != user.StatusActive {
			t.Fatal("tenant A changed tenant B's owner")
		}

		// A's list never shows B's users, on any page or filter.
		for _, q := range []string{"", "?role=member", "?email=member@b.test", "?limit=1&offset=1", "?sort=email&order=asc"} {
			us, page := listUsers(t, e, a.AccessToken, q)
			for _, u := range us {
				if u.TenantID != a.Tenant.ID {
					t.Fatalf("A's list %q shows %s of tenant %s", q, u.Email, u.TenantID)
				}
			}
			if q == "" && (len(us) != 2 || fmt.Sprint(page["total"]) != "2") {
				t.Fatalf("A lists %d users, total %v, want 2", len(us), page["total"])
			}
			if q == "?email=member@b.test" && (len(us) != 0 || fmt.Sprint(page["total"]) != "0") {
				t.Fatalf("A's email filter finds B's user: %d, total %v", len(us), page["total"])
			}
		}

		// GraphQL: the same 404s, and the connection counts A's users only.
		g := e.GraphQL(`mutation($id: ID!) { updateUser(id: $id, input: {name: "pwned"}) { id } }`, map[string]any{"id": bm.ID}, a.AccessToken)
		wantGQLError(t, g, "NOT_FOUND")
		g = e.GraphQL(`mutation($id: ID!) { deleteUser(id: $id) }`, map[string]any{"id": bm.ID}, a.AccessToken)
		wantGQLError(t, g, "NOT_FOUND")
		var out struct {
			Users struct {
				TotalCount int `json:"totalCount"`
				Edges      []struct {
					Node struct {
						TenantID string `json:"tenantID"`
					} `json:"node"`
				} `json:"edges"`
			} `json:"users"`
		}
		e.GraphQL(`query { users(first: 50) { totalCount edges { node { tenantID } } } }`, nil, a.AccessToken).Decode(t, &out)
		if out.Users.TotalCount != 2 || len(out.Users.Edges) != 2 {
			t.Fatalf("GraphQL users for A: total %d, %d edges, want 2", out.Users.TotalCount, len(out.Users.Edges))
		}
		for _, ed := range out.Users.Edges {
			if ed.Node.TenantID != a.Tenant.ID {
				t.Fatalf("GraphQL users for A shows a user of tenant %s", ed.Node.TenantID)
			}
		}
		// Even a where on B's tenant id finds nothing.
		e.GraphQL(`query($t: ID!) { users(where: {tenantID: $t}) { totalCount edges { node { tenantID } } } }`,
			map[string]any{"t": b.Tenant.ID}, a.AccessToken).Decode(t, &out)
		if out.Users.TotalCount != 0 {
			t.Fatalf("A sees %d users with where tenantID = B", out.Users.TotalCount)
		}
		// The same email may exist in both tenants: creating it in A is no conflict and no leak.
		createUser(t, e, a.AccessToken, "member@b.test", "viewer", "")
		if userCount(t, e, "member@b.test") != 2 {
			t.Fatal("the email was not created in A beside B's")
		}
		if after := dbUser(t, e, uid(t, bm.ID)); after == nil || after.Status != user.StatusActive {
			t.Fatal("B's user changed")
		}
		if n := len(auditEntries(t, e, uid(t, b.Tenant.ID), "user.update", "")) + len(auditEntries(t, e, uid(t, b.Tenant.ID), "user.delete", "")); n != 0 {
			t.Fatalf("%d user.update/delete entries in B", n)
		}
	})
}

// ---------------------------------------------------------------------------
// 9. users admin: create, list, update, delete, and their effects on sessions

func TestUsersCreate(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		o := register(t, e, "Create", ownedBy("owner@create.test"))
		tid := uid(t, o.Tenant.ID)
		r := do(e, http.MethodPost, "/api/v1/admin/users", o.AccessToken, map[string]any{"email": "New.User@Create.test", "name": "New", "role": "member"})
		wantStatus(t, r, http.StatusCreated)
		var u userJSON
		r.Data(t, &u)
		if u.Email != "new.user@create.test" || u.Name != "New" || u.Role != "member" || u.Status != "active" ||
			u.TenantID != o.Tenant.ID || u.LastLoginAt != nil || uid(t, u.ID) == uuid.Nil {
			t.Fatalf("created user %+v", u)
		}
		row := dbUser(t, e, uid(t, u.ID))
		if row == nil || row.TenantID != tid || row.PasswordHash != "" {
			t.Fatal("user row missing, in another tenant, or with a password hash though none was given")
		}
		a := oneAudit(t, e, tid, "user.create", auditlog.OutcomeSuccess, "")
		if a.ActorID != o.User.ID || a.ResourceID != u.ID || a.ResourceType != "user" || a.Details["email"] != u.Email || a.Details["role"] != "member" {
			t.Fatalf("user.create audit actor %s resource %s:%s details %v", a.ActorID, a.ResourceType, a.ResourceID, a.Details)
		}

		// Duplicate email, in any case: 409, nothing written.
		for _, email := range []string{"new.user@create.test", "NEW.USER@create.test", "owner@create.test"} {
			r = do(e, http.MethodPost, "/api/v1/admin/users", o.AccessToken, map[string]any{"email": email, "role": "viewer"})
			wantError(t, r, http.StatusConflict, "CONFLICT")
		}
		if n := len(auditEntries(t, e, tid, "user.create", "")); n != 1 {
			t.Fatalf("%d user.create entries after refused duplicates, want 1", n)
		}

		// With a password, the user can sign in; the hash is argon2id.
		pwUser := createUser(t, e, o.AccessToken, "pw@create.test", "viewer", testPassword)
		if h := dbUser(t, e, uid(t, pwUser.ID)).PasswordHash; len(h) < 10 || h[:10] != "$argon2id$" {
			t.Fatal("the password is not stored as an argon2id hash")
		}
		if s := login(t, e, "pw@create.test", testPassword, o.Tenant.Slug); s.User.ID != pwUser.ID {
			t.Fatal("the created user signed in as someone else")
		}
		for _, a := range auditEntries(t, e, tid, "user.create", "") {
			for k, v := range a.Details {
				if k == "password" || fmt.Sprint(v) == testPassword {
					t.Fatal("a user.create audit entry holds the password")
				}
			}
		}

		// Validation names the field.
		cases := []struct {
			body          map[string]any
			field, reason string
		}{
			{map[string]any{"role": "member"}, "email", "required"},
			{map[string]any{"email": "nope", "role": "member"}, "email", "invalid"},
			{map[string]any{"email": "x@create.test"}, "role", "required"},
			{map[string]any{"email": "x@create.test", "role": "superuser"}, "role", "invalid"},
			{map[string]any{"email": "x@create.test", "role": "member", "password": "short"}, "password", "too_short"},
			{map[string]any{"email": "x@create.test", "role": "member", "tenant_id": o.Tenant.ID}, "tenant_id", "unknown"},
		}
		for _, c := range cases {
			r = do(e, http.MethodPost, "/api/v1/admin/users", o.AccessToken, c.body)
			wantError(t, r, http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", c.field, "reason", c.reason)
		}
		if userCount(t, e, "x@create.test") != 0 {
			t.Fatal("an invalid create made a user")
		}
	})
}

func TestUsersListPagingAndFilters(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		o := register(t, e, "Lister", ownedBy("owner@list.test"))
		created := map[string]userJSON{}
		for i, role := range []string{"admin", "member", "member", "viewer", "viewer", "viewer"} {
			u := createUser(t, e, o.AccessToken, fmt.Sprintf("u%d@list.test", i), role, "")
			created[u.Email] = u
		}
		wantStatus(t, do(e, http.MethodPatch, "/api/v1/admin/users/"+created["u5@list.test"].ID, o.AccessToken, map[string]any{"status": "disabled"}), http.StatusOK)

		all, page := listUsers(t, e, o.AccessToken, "")
		if len(all) != 7 || fmt.Sprint(page["total"]) != "7" || page["has_next"] != false {
			t.Fatalf("list: %d users, pagination %v, want 7", len(all), page)
		}
		// Pages of 3 walk everything once.
		seen := map[string]bool{}
		for off := 0; off < 9; off += 3 {
			us, page := listUsers(t, e, o.AccessToken, fmt.Sprintf("?limit=3&offset=%d", off))
			want := min(3, 7-off)
			if len(us) != want || fmt.Sprint(page["total"]) != "7" || fmt.Sprint(page["limit"]) != "3" ||
				fmt.Sprint(page["offset"]) != fmt.Sprint(off) || page["has_next"] != (off+3 < 7) {
				t.Fatalf("offset %d: %d users, pagination %v", off, len(us), page)
			}
			for _, u := range us {
				if seen[u.ID] {
					t.Fatalf("user %s on two pages", u.Email)
				}
				seen[u.ID] = true
			}
		}
		if len(seen) != 7 {
			t.Fatalf("paging saw %d users, want 7", len(seen))
		}
		us, page := listUsers(t, e, o.AccessToken, "?offset=50")
		if len(us) != 0 || fmt.Sprint(page["total"]) != "7" {
			t.Fatalf("past the end: %d users, total %v", len(us), page["total"])
		}
		r := e.Get("/api/v1/admin/users?offset=50", o.AccessToken)
		if string(r.Envelope.Data) != "[]" {
			t.Fatalf("an empty page's data is %s, want []", r.Envelope.Data)
		}

		// Filters.
		check := func(q string, want ...string) {
			t.Helper()
			us, page := listUsers(t, e, o.AccessToken, q)
			got := sorted(emails(us))
			if !slices.Equal(got, sorted(want)) || fmt.Sprint(page["total"]) != fmt.Sprint(len(want)) {
				t.Fatalf("%s: %v (total %v), want %v", q, got, page["total"], want)
			}
		}
		check("?role=viewer", "u3@list.test", "u4@list.test", "u5@list.test")
		check("?role=member", "u1@list.test", "u2@list.test")
		check("?role=owner", "owner@list.test")
		check("?status=disabled", "u5@list.test")
		check("?role=viewer&status=active", "u3@list.test", "u4@list.test")
		check("?email=u0@list.test", "u0@list.test")
		us, page = listUsers(t, e, o.AccessToken, "?role=viewer&limit=1") // newest first by default
		if len(us) != 1 || us[0].Email != "u5@list.test" || fmt.Sprint(page["total"]) != "3" || page["has_next"] != true {
			t.Fatalf("?role=viewer&limit=1: %v, pagination %v", emails(us), page)
		}
		wantError(t, e.Get("/api/v1/admin/users?role=root", o.AccessToken), http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "role")
		wantError(t, e.Get("/api/v1/admin/users?status=gone", o.AccessToken), http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "status")
		wantError(t, e.Get("/api/v1/admin/users?sort=password_hash", o.AccessToken), http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "sort")

		// Sorting by email.
		us, _ = listUsers(t, e, o.AccessToken, "?sort=email&order=asc")
		if got := emails(us); !slices.IsSorted(got) || len(got) != 7 {
			t.Fatalf("sort=email asc: %v", got)
		}
		us, _ = listUsers(t, e, o.AccessToken, "?sort=email&order=desc")
		if got := emails(us); got[0] != "u5@list.test" || got[6] != "owner@list.test" {
			t.Fatalf("sort=email desc: %v", got)
		}

		// GraphQL filters the same rows.
		var out struct {
			Users struct {
				TotalCount int `json:"totalCount"`
			} `json:"users"`
		}
		e.GraphQL(`query { users(where: {role: viewer, status: active}) { totalCount } }`, nil, o.AccessToken).Decode(t, &out)
		if out.Users.TotalCount != 2 {
			t.Fatalf("GraphQL users where viewer+active: %d, want 2", out.Users.TotalCount)
		}
	})
}

func TestUserUpdate(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		o := register(t, e, "Updater", ownedBy("owner@upd.test"))
		tid := uid(t, o.Tenant.ID)
		u := createUser(t, e, o.AccessToken, "u@upd.test", "viewer", "")

		r := do(e, http.MethodPatch, "/api/v1/admin/users/"+u.ID, o.AccessToken, map[string]any{"name": "Renamed", "role": "member"})
		wantStatus(t, r, http.StatusOK)
		var got userJSON
		r.Data(t, &got)
		if got.ID != u.ID || got.Name != "Renamed" || got.Role != "member" || got.Status != "active" || got.Email != u.Email {
			t.Fatalf("updated user %+v", got)
		}
		if row := dbUser(t, e, uid(t, u.ID)); row.Name != "Renamed" || row.Role != user.RoleMember {
			t.Fatalf("row after update: %s %s", row.Name, row.Role)
		}
		a := oneAudit(t, e, tid, "user.update", auditlog.OutcomeSuccess, "")
		if a.ResourceID != u.ID || a.ActorID != o.User.ID || fmt.Sprint(a.Details["fields"]) != "[name role]" {
			t.Fatalf("user.update audit resource %s actor %s details %v", a.ResourceID, a.ActorID, a.Details)
		}

		r = do(e, http.MethodPatch, "/api/v1/admin/users/"+u.ID, o.AccessToken, map[string]any{"status": "disabled"})
		wantStatus(t, r, http.StatusOK)
		r.Data(t, &got)
		if got.Status != "disabled" {
			t.Fatalf("status after disabling: %s", got.Status)
		}
		var fields []string
		for _, a := range auditEntries(t, e, tid, "user.update", "") {
			fields = append(fields, fmt.Sprint(a.Details["fields"]))
		}
		if !slices.Equal(fields, []string{"[name role]", "[status]"}) {
			t.Fatalf("user.update fields %v", fields)
		}

		// Invalid values name the field and change nothing.
		for _, c := range []struct {
			body          map[string]any
			field, reason string
		}{
			{map[string]any{"role": "god"}, "role", "invalid"},
			{map[string]any{"status": "asleep"}, "status", "invalid"},
			{map[string]any{"password": "short"}, "password", "too_short"},
			{map[string]any{"email": "other@upd.test"}, "email", "unknown"},
		} {
			r = do(e, http.MethodPatch, "/api/v1/admin/users/"+u.ID, o.AccessToken, c.body)
			wantError(t, r, http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", c.field, "reason", c.reason)
		}
		if row := dbUser(t, e, uid(t, u.ID)); row.Role != user.RoleMember || row.Status != user.StatusDisabled || row.Email != "u@upd.test" {
			t.Fatal("an invalid update changed the user")
		}

		// GraphQL updateUser goes through the same rules.
		var out struct {
			UpdateUser struct {
				Name   string `json:"name"`
				Status string `json:"status"`
			} `json:"updateUser"`
		}
		e.GraphQL(`mutation($id: ID!) { updateUser(id: $id, input: {name: "Again", status: active}) { name status } }`,
			map[string]any{"id": u.ID}, o.AccessToken).Decode(t, &out)
		if out.UpdateUser.Name != "Again" || out.UpdateUser.Status != "active" {
			t.Fatalf("GraphQL updateUser: %+v", out.UpdateUser)
		}
		if n := len(auditEntries(t, e, tid, "user.update", "")); n != 3 {
			t.Fatalf("%d user.update entries, want 3", n)
		}
	})
}

func TestDisablingAUserEndsItsSessions(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		o := register(t, e, "Disabler", ownedBy("owner@dis.test"))
		u := createUser(t, e, o.AccessToken, "u@dis.test", "member", testPassword)
		s := login(t, e, "u@dis.test", testPassword, "")
		me(t, e, s.AccessToken)

		wantStatus(t, do(e, http.MethodPatch, "/api/v1/admin/users/"+u.ID, o.AccessToken, map[string]any{"status": "disabled"}), http.StatusOK)
		// The session token stops at once, over REST and GraphQL.
		wantUnauthorized(t, e.Get("/api/v1/auth/me", s.AccessToken), "revoked")
		wantGQLError(t, e.GraphQL(gqlMe, nil, s.AccessToken), "UNAUTHORIZED", "reason", "revoked")
		// Its refresh tokens are revoked in the database and refused.
		rows, err := e.Store.Client.RefreshToken.Query().Where(refreshtoken.UserID(uid(t, u.ID))).All(unrestricted())
		if err != nil || len(rows) == 0 {
			t.Fatalf("refresh tokens of the user: %d (%v)", len(rows), err)
		}
		for _, row := range rows {
			if row.RevokedAt == nil {
				t.Fatal("a refresh token of the disabled user is not revoked")
			}
		}
		wantUnauthorized(t, do(e, http.MethodPost, "/api/v1/auth/refresh", "", map[string]any{"refresh_token": s.RefreshToken}), "revoked")
		// It cannot sign in, and the answer says no more than a wrong password would.
		wantUnauthorized(t, do(e, http.MethodPost, "/api/v1/auth/login", "", map[string]any{"email": "u@dis.test", "password": testPassword}), "invalid")

		// Enabled again, it signs in afresh; the old refresh token stays dead.
		wantStatus(t, do(e, http.MethodPatch, "/api/v1/admin/users/"+u.ID, o.AccessToken, map[string]any{"status": "active"}), http.StatusOK)
		s2 := login(t, e, "u@dis.test", testPassword, "")
		me(t, e, s2.AccessToken)
		wantUnauthorized(t, do(e, http.MethodPost, "/api/v1/auth/refresh", "", map[string]any{"refresh_token": s.RefreshToken}), "revoked")
		// The owner is untouched throughout.
		me(t, e, o.AccessToken)
	})
}

func TestDeletingAUser(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		o := register(t, e, "Deleter", ownedBy("owner@del.test"))
		tid := uid(t, o.Tenant.ID)
		u := createUser(t, e, o.AccessToken, "u@del.test", "admin", testPassword)
		s := login(t, e, "u@del.test", testPassword, "")
		me(t, e, s.AccessToken)

		r := do(e, http.MethodDelete, "/api/v1/admin/users/"+u.ID, o.AccessToken, nil)
		wantStatus(t, r, http.StatusOK)
		var d struct {
			ID      string `json:"id"`
			Deleted bool   `json:"deleted"`
		}
		r.Data(t, &d)
		if d.ID != u.ID || !d.Deleted {
			t.Fatalf("delete answered %+v", d)
		}
		if dbUser(t, e, uid(t, u.ID)) != nil {
			t.Fatal("the user row survived the delete")
		}
		a := oneAudit(t, e, tid, "user.delete", auditlog.OutcomeSuccess, "")
		if a.ResourceID != u.ID || a.ActorID != o.User.ID {
			t.Fatalf("user.delete audit resource %s actor %s", a.ResourceID, a.ActorID)
		}
		// Its session stops at once; its refresh token is refused; it cannot sign in.
		wantUnauthorized(t, e.Get("/api/v1/auth/me", s.AccessToken), "revoked")
		wantUnauthorized(t, e.Get("/api/v1/admin/users", s.AccessToken), "revoked")
		wantUnauthorized(t, do(e, http.MethodPost, "/api/v1/auth/refresh", "", map[string]any{"refresh_token": s.RefreshToken}), "revoked")
		wantUnauthorized(t, do(e, http.MethodPost, "/api/v1/auth/login", "", map[string]any{"email": "u@del.test", "password": testPassword}), "invalid")
		// Deleting it again: 404.
		wantError(t, do(e, http.MethodDelete, "/api/v1/admin/users/"+u.ID, o.AccessToken, nil), http.StatusNotFound, "NOT_FOUND")

		// Nobody deletes themselves, even with another owner to keep the tenant.
		createUser(t, e, o.AccessToken, "owner2@del.test", "owner", "")
		wantError(t, do(e, http.MethodDelete, "/api/v1/admin/users/"+o.User.ID, o.AccessToken, nil), http.StatusConflict, "CONFLICT")
		if dbUser(t, e, uid(t, o.User.ID)) == nil {
			t.Fatal("the owner deleted itself")
		}
		me(t, e, o.AccessToken)
		// GraphQL deleteUser returns the id and has the same effect.
		v := createUser(t, e, o.AccessToken, "v@del.test", "viewer", "")
		var out struct {
			DeleteUser string `json:"deleteUser"`
		}
		e.GraphQL(`mutation($id: ID!) { deleteUser(id: $id) }`, map[string]any{"id": v.ID}, o.AccessToken).Decode(t, &out)
		if out.DeleteUser != v.ID || dbUser(t, e, uid(t, v.ID)) != nil {
			t.Fatalf("GraphQL deleteUser returned %s; row still there: %v", out.DeleteUser, dbUser(t, e, uid(t, v.ID)) != nil)
		}
		wantGQLError(t, e.GraphQL(`mutation($id: ID!) { deleteUser(id: $id) }`, map[string]any{"id": o.User.ID}, o.AccessToken), "CONFLICT")
	})
}

func TestTenantKeepsAnActiveOwner(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		o := register(t, e, "Owned", ownedBy("owner@own.test"))
		adm := login(t, e, adminEmail, adminPass, "")
		inT := map[string]string{"x-tenantid": o.Tenant.ID}

		// The only owner cannot demote or disable itself.
		wantError(t, do(e, http.MethodPatch, "/api/v1/admin/users/"+o.User.ID, o.AccessToken, map[string]any{"role": "admin"}), http.StatusConflict, "CONFLICT")
		wantError(t, do(e, http.MethodPatch, "/api/v1/admin/users/"+o.User.ID, o.AccessToken, map[string]any{"status": "disabled"}), http.StatusConflict, "CONFLICT")
		// Nor can a platform admin acting in the tenant demote, disable or delete it.
		wantError(t, do(e, http.MethodPatch, "/api/v1/admin/users/"+o.User.ID, adm.AccessToken, map[string]any{"role": "member"}, inT), http.StatusConflict, "CONFLICT")
		wantError(t, do(e, http.MethodPatch, "/api/v1/admin/users/"+o.User.ID, adm.AccessToken, map[string]any{"status": "disabled"}, inT), http.StatusConflict, "CONFLICT")
		wantError(t, do(e, http.MethodDelete, "/api/v1/admin/users/"+o.User.ID, adm.AccessToken, nil, inT), http.StatusConflict, "CONFLICT")
		if row := dbUser(t, e, uid(t, o.User.ID)); row == nil || row.Role != user.RoleOwner || row.Status != user.StatusActive {
			t.Fatal("the last owner was changed")
		}
		me(t, e, o.AccessToken)

		// With a second active owner, the first may step down; then the second is the last.
		o2 := createUser(t, e, o.AccessToken, "owner2@own.test", "owner", "")
		wantStatus(t, do(e, http.MethodPatch, "/api/v1/admin/users/"+o.User.ID, o.AccessToken, map[string]any{"role": "admin"}), http.StatusOK)
		wantError(t, do(e, http.MethodPatch, "/api/v1/admin/users/"+o2.ID, adm.AccessToken, map[string]any{"status": "disabled"}, inT), http.StatusConflict, "CONFLICT")
		// A disabled owner does not count as one.
		o4 := createUser(t, e, adm.AccessToken, "owner4@own.test", "owner", "", inT)
		wantStatus(t, do(e, http.MethodPatch, "/api/v1/admin/users/"+o4.ID, adm.AccessToken, map[string]any{"status": "disabled"}, inT), http.StatusOK)
		wantError(t, do(e, http.MethodDelete, "/api/v1/admin/users/"+o2.ID, adm.AccessToken, nil, inT), http.StatusConflict, "CONFLICT")
		if dbUser(t, e, uid(t, o2.ID)) == nil {
			t.Fatal("the last active owner was deleted")
		}
	}, withAdmin)
}

// TestPasswordlessUserCannotSignIn shows the bug in identity/session.go
// Login: a user created without a password is verified against dummyHash, the
// hash of a constant string in the source, so that string signs it in.
func TestPasswordlessUserCannotSignIn(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		o := register(t, e, "Invites", ownedBy("owner@inv.test"))
		createUser(t, e, o.AccessToken, "invited@inv.test", "admin", "")
		for _, pw := range []string{"credvault-no-such-user", testPassword} {
			r := do(e, http.MethodPost, "/api/v1/auth/login", "", map[string]any{"email": "invited@inv.test", "password": pw})
			wantUnauthorized(t, r, "invalid")
		}
	})
}

// TestPasswordChangeEndsSessions shows that a password set by an admin
// revokes the user's refresh tokens but leaves its session tokens working
// until they expire.
func TestPasswordChangeEndsSessions(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		o := register(t, e, "Passwords", ownedBy("owner@pw.test"))
		u := createUser(t, e, o.AccessToken, "u@pw.test", "member", testPassword)
		s := login(t, e, "u@pw.test", testPassword, "")
		const newPassword = "a-brand-new-password"
		wantStatus(t, do(e, http.MethodPatch, "/api/v1/admin/users/"+u.ID, o.AccessToken, map[string]any{"password": newPassword}), http.StatusOK)
		a := oneAudit(t, e, uid(t, o.Tenant.ID), "user.update", auditlog.OutcomeSuccess, "")
		if fmt.Sprint(a.Details["fields"]) != "[password]" || fmt.Sprint(a.Details) == "" {
			t.Fatalf("user.update details %v, want fields [password]", a.Details)
		}
		for _, v := range a.Details {
			if fmt.Sprint(v) == newPassword {
				t.Fatal("the audit entry holds the new password")
			}
		}
		// The old password no longer works, the new one does; the old refresh token is dead.
		wantUnauthorized(t, do(e, http.MethodPost, "/api/v1/auth/login", "", map[string]any{"email": "u@pw.test", "password": testPassword}), "invalid")
		login(t, e, "u@pw.test", newPassword, "")
		wantUnauthorized(t, do(e, http.MethodPost, "/api/v1/auth/refresh", "", map[string]any{"refresh_token": s.RefreshToken}), "revoked")

		t.Run("old session token", func(t *testing.T) {
			wantUnauthorized(t, e.Get("/api/v1/auth/me", s.AccessToken), "revoked")
		})
	})
}

// usersConnection is the GraphQL users connection, as the tests read it.
type usersConnection struct {
	TotalCount int `json:"totalCount"`
	Edges      []struct {
		Node struct {
			ID    string `json:"id"`
			Email string `json:"email"`
			Role  string `json:"role"`
		} `json:"node"`
	} `json:"edges"`
}

func TestUsersGraphQL(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		o := register(t, e, "GraphUsers", ownedBy("owner@gu.test"))
		tid := uid(t, o.Tenant.ID)
		var cu struct {
			CreateUser struct {
				ID       string `json:"id"`
				TenantID string `json:"tenantID"`
				Email    string `json:"email"`
				Role     string `json:"role"`
				Status   string `json:"status"`
			} `json:"createUser"`
		}
		e.GraphQL(`mutation { createUser(input: {email: "G@gu.test", name: "G", role: member}) { id tenantID email role status } }`,
			nil, o.AccessToken).Decode(t, &cu)
		if cu.CreateUser.Email != "g@gu.test" || cu.CreateUser.Role != "member" || cu.CreateUser.TenantID != o.Tenant.ID || cu.CreateUser.Status != "active" {
			t.Fatalf("GraphQL createUser: %+v", cu.CreateUser)
		}
		if oneAudit(t, e, tid, "user.create", auditlog.OutcomeSuccess, "").ResourceID != cu.CreateUser.ID {
			t.Fatal("GraphQL createUser: audit resource is not the new user")
		}
		wantGQLError(t, e.GraphQL(`mutation { createUser(input: {email: "g@gu.test", role: viewer}) { id } }`, nil, o.AccessToken), "CONFLICT")
		wantGQLError(t, e.GraphQL(`mutation { createUser(input: {email: "bad", role: viewer}) { id } }`, nil, o.AccessToken),
			"VALIDATION_ERROR", "field", "email")

		// The connection lists both, REST ids equal GraphQL ids, and orderBy works.
		var out struct {
			Users usersConnection `json:"users"`
		}
		e.GraphQL(`query { users(orderBy: {field: EMAIL, direction: ASC}) { totalCount edges { node { id email role } } } }`,
			nil, o.AccessToken).Decode(t, &out)
		if out.Users.TotalCount != 2 || len(out.Users.Edges) != 2 || out.Users.Edges[0].Node.Email != "g@gu.test" ||
			out.Users.Edges[1].Node.ID != o.User.ID {
			t.Fatalf("GraphQL users: %+v", out.Users)
		}
		rest, _ := listUsers(t, e, o.AccessToken, "?sort=email&order=asc")
		if len(rest) != 2 || rest[0].ID != out.Users.Edges[0].Node.ID || rest[1].ID != out.Users.Edges[1].Node.ID {
			t.Fatal("REST and GraphQL list different users")
		}
		e.GraphQL(`query { users(where: {role: owner}) { totalCount edges { node { id email role } } } }`, nil, o.AccessToken).Decode(t, &out)
		if out.Users.TotalCount != 1 || out.Users.Edges[0].Node.ID != o.User.ID {
			t.Fatalf("GraphQL users where owner: %+v", out.Users)
		}
		// users needs a credential.
		wantGQLError(t, e.GraphQL(`query { users { totalCount } }`, nil, ""), "UNAUTHORIZED", "reason", "missing")
		// A user id is a node of the graph.
		var node struct {
			Node struct {
				ID    string `json:"id"`
				Email string `json:"email"`
			} `json:"node"`
		}
		e.GraphQL(`query($id: ID!) { node(id: $id) { id ... on User { email } } }`, map[string]any{"id": cu.CreateUser.ID}, o.AccessToken).Decode(t, &node)
		if node.Node.Email != "g@gu.test" {
			t.Fatalf("node(id) of the user: %+v", node.Node)
		}
	})
}
