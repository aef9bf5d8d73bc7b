"""The other services against a live server: auth, OAuth clients, users, service accounts,
audit, tenants and the admin operations."""

import csv
import json
import threading
import unittest
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import support

from credvault import CredVault, CredVaultError


class AuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.srv = support.server()
        cls.tenant = cls.srv.new_tenant("auth")

    def test_register_login_refresh_me(self) -> None:
        s = self.tenant.session
        self.assertTrue(s.access_token and s.refresh_token)
        self.assertEqual(s.token_type, "Bearer")
        self.assertEqual(s.user.role, "owner")
        anon = CredVault(self.srv.url)
        login = anon.auth.login(s.user.email, support.PASSWORD, tenant=s.tenant.slug)
        self.assertEqual(login.user.id, s.user.id)
        me = anon.with_token(login.access_token).auth.me()
        self.assertEqual((me.principal_type, me.id), ("user", s.user.id))
        self.assertEqual(me.user.email, s.user.email)
        self.assertEqual(me.tenant.slug, s.tenant.slug)
        refreshed = anon.auth.refresh(login.refresh_token)
        self.assertNotEqual(refreshed.refresh_token, login.refresh_token)
        with self.assertRaises(CredVaultError) as ctx:
            anon.auth.refresh(login.refresh_token)
        self.assertEqual(ctx.exception.status, 401)
        with self.assertRaises(CredVaultError) as ctx:
            anon.auth.login(s.user.email, "wrong password", tenant=s.tenant.slug)
        self.assertEqual(ctx.exception.code, "UNAUTHORIZED")

    def test_health(self) -> None:
        h = CredVault(self.srv.url).health()
        self.assertEqual(h.status, "ok")
        self.assertIsInstance(h.queue_depths, dict)


class OAuthClientsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.srv = support.server()
        cls.cv = cls.srv.new_tenant("oauth").client

    def test_lifecycle(self) -> None:
        c = self.cv.oauth_clients.create("partner", ["credentials:read"], access_token_ttl_seconds=600)
        self.assertTrue(c.client_id and c.client_secret)
        self.assertEqual(c.access_token_ttl_seconds, 600)
        self.assertEqual(self.cv.oauth_clients.get(c.client_id).id, c.id)
        self.assertIsNone(self.cv.oauth_clients.get(c.client_id).client_secret)
        self.assertIn(c.client_id, [x.client_id for x in self.cv.oauth_clients.list()])
        u = self.cv.oauth_clients.update(c.client_id, name="partner-2", status="disabled")
        self.assertEqual((u.name, u.status), ("partner-2", "disabled"))
        self.assertIn(c.client_id, [x.client_id for x in self.cv.oauth_clients.list(status="disabled")])
        r = self.cv.oauth_clients.rotate_secret(c.client_id, grace_period_seconds=60)
        self.assertTrue(r.client_secret)
        self.assertNotEqual(r.client_secret, c.client_secret)
        d = self.cv.oauth_clients.delete(c.client_id)
        self.assertTrue(d.deleted)
        self.assertEqual(d.client_id, c.client_id)
        with self.assertRaises(CredVaultError) as ctx:
            self.cv.oauth_clients.get(c.client_id)
        self.assertEqual(ctx.exception.code, "NOT_FOUND")


class UsersAndServiceAccountsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.srv = support.server()
        cls.tenant = cls.srv.new_tenant("people")
        cls.cv = cls.tenant.client

    def test_users(self) -> None:
        user = self.cv.users.create("member@example.com", "member", name="Member", password=support.PASSWORD)
        self.assertEqual((user.email, user.role, user.name), ("member@example.com", "member", "Member"))
        self.assertIn(user.id, [u.id for u in self.cv.users.list(role="member")])
        self.assertEqual([u.id for u in self.cv.users.list(email="member@example.com")], [user.id])
        updated = self.cv.users.update(user.id, role="viewer", name="Viewer")
        self.assertEqual((updated.role, updated.name), ("viewer", "Viewer"))
        self.assertTrue(self.cv.users.delete(user.id).deleted)
        self.assertNotIn(user.id, [u.id for u in self.cv.users.list(status="active")])

    def test_service_account_with_a_key(self) -> None:
        created = self.cv.service_accounts.create(
            "ci-bot", ["credentials:read"], description="CI", create_api_key=True
        )
        sa = created.service_account
        self.assertEqual((sa.name, sa.description, sa.scopes), ("ci-bot", "CI", ["credentials:read"]))
        self.assertTrue(created.api_key.key.startswith("cvk_"))
        me = self.cv.with_api_key(created.api_key.key).auth.me()
        self.assertEqual((me.principal_type, me.id, me.api_key_id), ("service_account", sa.id, created.api_key.id))
        keys = self.cv.api_keys.list(service_account_id=sa.id).to_list()
        self.assertEqual([k.id for k in keys], [created.api_key.id])
        self.assertIsNone(self.cv.service_accounts.create("no-key", ["credentials:read"]).api_key)


class AuditTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.srv = support.server()
        cls.tenant = cls.srv.new_tenant("audit")
        cls.cv = cls.tenant.client

    def test_list_and_filters(self) -> None:
        since = datetime.now(timezone.utc) - timedelta(minutes=5)
        key = self.cv.api_keys.create("audited")
        entries = self.cv.audit.list(action="api_key.create", resource_id=key.id, since=since).to_list()
        self.assertEqual(len(entries), 1)
        e = entries[0]
        self.assertEqual((e.action, e.resource_type, e.outcome), ("api_key.create", "api_key", "success"))
        self.assertEqual(e.actor_id, self.tenant.key_id)
        self.assertIsInstance(e.occurred_at, datetime)
        everything = list(self.cv.audit.list(limit=2))
        self.assertGreaterEqual(len(everything), 3)
        future = datetime.now(timezone.utc) + timedelta(hours=1)
        self.assertEqual(self.cv.audit.list(since=future).to_list(), [])


class AuditExportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.srv = support.server()

    def setUp(self) -> None:
        self.srv.require(self, "exportAuditLogs")
        self.tenant = self.srv.new_tenant("export")
        self.cv = self.tenant.client

    def test_export_ndjson_and_csv(self) -> None:
        keys = [self.cv.api_keys.create(f"exported-{i}").id for i in range(3)]
        entries = list(self.cv.audit.export(action="api_key.create"))
        self.assertEqual([e.resource_id for e in entries][-3:], keys, "oldest first")
        self.assertTrue(all(isinstance(e.occurred_at, datetime) for e in entries))
        rows = list(csv.reader(self.cv.audit.export_csv(action="api_key.create")))
        self.assertIn("action", rows[0])
        self.assertEqual(len(rows) - 1, len(entries))
        col = rows[0].index("resource_id")
        self.assertEqual([r[col] for r in rows[1:]], [e.resource_id for e in entries])


class SSOTest(unittest.TestCase):
    """The configuration calls, with a minimal OpenID provider (its discovery document) on 127.0.0.1."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.srv = support.server()

    def setUp(self) -> None:
        self.srv.require(self, "ssoConfig", "updateSSOConfig")
        self.cv = self.srv.new_tenant("sso").client

    def test_configure(self) -> None:
        class Discovery(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                base = f"http://127.0.0.1:{self.server.server_address[1]}"
                body = json.dumps({
                    "issuer": base, "authorization_endpoint": base + "/authorize", "token_endpoint": base + "/token",
                    "jwks_uri": base + "/jwks", "response_types_supported": ["code"],
                    "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"],
                }).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        idp = ThreadingHTTPServer(("127.0.0.1", 0), Discovery)
        threading.Thread(target=idp.serve_forever, daemon=True).start()
        try:
            with self.assertRaises(CredVaultError) as ctx:
                self.cv.sso.config()
            self.assertEqual(ctx.exception.code, "NOT_FOUND")
            issuer = f"http://127.0.0.1:{idp.server_address[1]}"
            cfg = self.cv.sso.update_config(
                issuer, "client-1", client_secret="s3cret", allowed_domains=["example.com"], enabled=True
            )
            self.assertEqual((cfg.issuer, cfg.client_id, cfg.enabled), (issuer, "client-1", True))
            self.assertEqual(cfg.allowed_domains, ["example.com"])
            self.assertNotIn("client_secret", cfg.raw)
            self.assertEqual(self.cv.sso.config().id, cfg.id)
        finally:
            idp.shutdown()
            idp.server_close()


class TenantsAndAdminTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.srv = support.server()
        cls.tenant = cls.srv.new_tenant("tenant")
        cls.cv = cls.tenant.client

    def test_own_tenant(self) -> None:
        t = self.cv.tenants.get(self.tenant.tenant_id)
        self.assertEqual(t.slug, self.tenant.session.tenant.slug)
        self.assertFalse(t.platform)
        u = self.cv.tenants.update(t.id, name="Renamed", settings={"audit_retention_days": 30})
        self.assertEqual((u.name, u.settings.audit_retention_days), ("Renamed", 30))
        stats = self.cv.tenants.stats(t.id)
        self.assertGreaterEqual(stats.counts["api_keys"]["active"], 1)
        self.assertIsInstance(self.cv.admin.dashboard_stats().counts, dict)
        with self.assertRaises(CredVaultError) as ctx:
            self.cv.tenants.list().first_page()
        self.assertEqual(ctx.exception.status, 403)

    def test_platform_admin(self) -> None:
        admin = self.srv.admin()
        other = self.srv.new_tenant("doomed")
        self.assertIn(other.tenant_id, [t.id for t in admin.tenants.list()])
        # x-tenantid: a platform admin acts in the tenant it names.
        scoped = admin.with_tenant(other.tenant_id)
        self.assertIn(other.key_id, [k.id for k in scoped.api_keys.list()])
        self.assertTrue(admin.tenants.delete(other.tenant_id).deleted)
        with self.assertRaises(CredVaultError) as ctx:
            other.client.auth.me()
        self.assertEqual(ctx.exception.status, 401)

    def test_admin_operations(self) -> None:
        self.assertEqual(self.cv.admin.health().database, "ok")
        self.assertTrue(self.cv.admin.feature_status().signup)
        self.assertGreaterEqual(self.cv.admin.usage_summary().total_requests, 0)
        job = self.cv.admin.trigger_job("expire_api_keys")
        self.assertTrue(job.job_id)
        self.assertEqual(self.cv.admin.job_stats("expire_api_keys").job_name, "expire_api_keys")
        rotation = self.cv.admin.rotate_dek()
        self.assertGreaterEqual(rotation.dek_version, 1)
        with self.assertRaises(CredVaultError) as ctx:
            self.cv.admin.trigger_job("no_such_job")
        self.assertEqual(ctx.exception.code, "VALIDATION_ERROR")


if __name__ == "__main__":
    unittest.main()
