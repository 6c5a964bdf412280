"""ConnectionPool behaviour beyond the fault list: reuse, health checks, min idle, lifetimes, fork safety, metrics."""

from __future__ import annotations

import os
import socket
import time

from blink_client import Backoff, ConnectError, ConnectionPool, PoolClosedError

from .support import ServerTestCase, wait_until


class Pool(ServerTestCase):
    def pool(self, **settings: float | None) -> ConnectionPool:
        pool = ConnectionPool(self.server.tcp, **settings)  # type: ignore[arg-type]
        self.addCleanup(pool.close)
        return pool

    def test_connections_are_reused_and_exclusive(self) -> None:
        pool = self.pool()
        with pool.client() as first, pool.client() as second:
            self.assertIsNot(first.connection, second.connection)
            reused = first.connection
        with pool.client() as client:
            self.assertIn(client.connection, (reused, second.connection))
        metrics = pool.metrics()
        self.assertEqual((metrics.connections_created, metrics.checkouts, metrics.idle), (2, 3, 2))

    def test_an_error_in_the_block_returns_a_healthy_connection(self) -> None:
        pool = self.pool()
        with self.assertRaises(KeyError), pool.client() as client:
            client.set("k", "v")
            raise KeyError("the caller's own error")
        with pool.client() as again:
            self.assertIs(again.connection, client.connection)
            self.assertEqual(again.get("k"), b"v")

    def test_ping_after_long_idle(self) -> None:
        pool = self.pool(ping_after_idle_s=0.0)
        with pool.client() as client:
            client.set("k", "v")
        pings_before = self.server.stats()["cmd_ping"]
        with pool.client() as client:
            self.assertEqual(client.get("k"), b"v")
        self.assertEqual(self.server.stats()["cmd_ping"], pings_before + 1)

    def test_max_idle_retires_old_connections(self) -> None:
        pool = self.pool(max_idle_s=0.05)
        with pool.client() as client:
            first = client.connection
        time.sleep(0.1)  # idle past max_idle_s: the passage of time is the condition
        with pool.client() as client:
            self.assertIsNot(client.connection, first)
        self.assertTrue(first.closed)
        self.assertEqual(pool.metrics().connections_closed, 1)

    def test_a_connection_returned_at_another_version_is_closed_not_reused(self) -> None:
        pool = self.pool()
        with pool.client() as client:
            self.assertEqual(client.hello(1).version, 1)
            downgraded = client.connection
        self.assertTrue(downgraded.closed)
        metrics = pool.metrics()
        self.assertEqual((metrics.idle, metrics.connections_closed, metrics.connections_broken), (0, 1, 0))
        with pool.client() as client:
            self.assertIsNot(client.connection, downgraded)
            self.assertEqual(client.protocol_version, 2)
            self.assertEqual(client.incr("n", 1), 1)

    def test_min_idle_connections_are_opened_at_creation(self) -> None:
        total_before = self.server.stats()["connections_total"]  # counts this STATS connection too
        pool = self.pool(max_size=4, min_idle=2)
        wait_until(lambda: pool.metrics().idle == 2, what="two warm connections")
        metrics = pool.metrics()
        self.assertEqual((metrics.connections_created, metrics.connections_warmed, metrics.in_use), (2, 2, 0))
        self.assertEqual(self.server.stats()["connections_total"], total_before + 2 + 1)
        with pool.client() as client:  # a warm connection: no connect on the caller's path
            client.set("warm", "1")
        # Taking one left one idle: the warmer opens another in the background.
        wait_until(lambda: pool.metrics().connections_warmed == 3, what="the warmer to top up")
        metrics = pool.metrics()
        self.assertEqual((metrics.connections_created, metrics.connect_attempts, metrics.idle), (3, 3, 3))

    def test_min_idle_is_replenished_after_a_discard(self) -> None:
        pool = self.pool(max_size=2, min_idle=2)
        wait_until(lambda: pool.metrics().idle == 2, what="two warm connections")
        with pool.client() as client:
            client.connection.close()  # broken: the pool drops it on return
        wait_until(lambda: pool.metrics().connections_warmed == 3, what="a replacement warm connection")
        wait_until(lambda: pool.metrics().idle == 2, what="the replacement to be idle")
        metrics = pool.metrics()
        self.assertEqual((metrics.connections_created, metrics.connections_broken, metrics.in_use), (3, 1, 0))
        # The server sees the two warm connections (and this STATS connection), not the dropped one.
        wait_until(lambda: self.server.stats()["connections_current"] == 3, what="the server to count two")

    def test_min_idle_is_checked(self) -> None:
        with self.assertRaisesRegex(ValueError, "min_idle"):
            ConnectionPool(self.server.tcp, max_size=2, min_idle=3)
        with self.assertRaisesRegex(ValueError, "max_lifetime_s"):
            ConnectionPool(self.server.tcp, max_lifetime_s=0)

    def test_a_connection_past_its_lifetime_is_closed_on_return(self) -> None:
        pool = self.pool(max_lifetime_s=0.2)
        with pool.client() as client:
            client.set("k", "v")
            connection = client.connection
            wait_until(lambda: time.monotonic() - connection.created_at_s >= 0.2, what="the lifetime to pass")
            self.assertEqual(client.get("k"), b"v")  # a checked-out connection is never taken from its caller
        self.assertTrue(connection.closed)
        metrics = pool.metrics()
        self.assertEqual((metrics.idle, metrics.connections_expired, metrics.connections_closed), (0, 1, 1))
        self.assertEqual(metrics.connections_broken, 0)
        wait_until(lambda: self.server.stats()["connections_current"] == 1, what="the server to see it closed")

    def test_a_connection_past_its_lifetime_is_not_reused(self) -> None:
        pool = self.pool(max_lifetime_s=0.3)
        with pool.client() as client:
            first = client.connection
        with pool.client() as client:  # young: reused
            self.assertIs(client.connection, first)
        wait_until(lambda: time.monotonic() - first.created_at_s >= 0.3, what="the lifetime to pass")
        with pool.client() as client:
            self.assertIsNot(client.connection, first)
            self.assertIsNone(client.get("missing"))
        self.assertTrue(first.closed)
        metrics = pool.metrics()
        self.assertEqual((metrics.connections_created, metrics.connections_expired, metrics.idle), (2, 1, 1))

    def test_lifetimes_are_jittered_down_by_up_to_ten_percent(self) -> None:
        pool = self.pool(max_lifetime_s=100.0)
        lifetimes = [pool._lifetime_s() for _ in range(1000)]
        self.assertTrue(all(90.0 <= lifetime <= 100.0 for lifetime in lifetimes))
        self.assertGreater(max(lifetimes) - min(lifetimes), 5.0, "lifetimes are spread, not all the same")
        self.assertEqual(self.pool(max_lifetime_s=None)._lifetime_s(), float("inf"))

    def test_closed_pool_refuses_checkouts_and_closes_returns(self) -> None:
        pool = self.pool()
        with pool.client() as client:
            pool.close()
            client.ping()
        self.assertTrue(client.closed)
        with self.assertRaises(PoolClosedError), pool.client():
            pass

    def test_a_forked_child_opens_its_own_connection(self) -> None:
        pool = self.pool()
        with pool.client() as client:
            client.set("parent", "1")
            parent_connection = client.connection
        pid = os.fork()
        if pid == 0:  # the child: exit status 0 only if it got a fresh connection that works
            ok = False
            try:
                with pool.client() as child:
                    child.set("child", "2")
                    ok = child.connection is not parent_connection and child.get("parent") == b"1"
                ok = ok and pool.metrics().connections_created == 1
            finally:
                os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0)
        with pool.client() as client:
            self.assertIs(client.connection, parent_connection)
            self.assertEqual(client.get("child"), b"2")
        self.assertEqual(pool.metrics().connections_created, 1)


class PoolWithoutServer(ServerTestCase):
    def test_connection_refused_backs_off(self) -> None:
        with socket.create_server(("127.0.0.1", 0)) as listener:
            address = f"127.0.0.1:{listener.getsockname()[1]}"
        pool = ConnectionPool(address, checkout_timeout_s=0.5, backoff=Backoff(base_s=0.05, jitter_s=0.0))
        self.addCleanup(pool.close)
        with self.assertRaises(ConnectError), pool.client():
            pass
        metrics = pool.metrics()
        # 0, 50, 150 and 350 ms: the 750 ms attempt is past the deadline.
        self.assertEqual((metrics.connect_attempts, metrics.connect_failures), (4, 4))
        self.assertEqual(Backoff(base_s=0.05, cap_s=2.0, jitter_s=0.0).delay_s(10), 2.0)

    def test_min_idle_is_best_effort_when_the_server_is_down(self) -> None:
        with socket.create_server(("127.0.0.1", 0)) as listener:
            address = f"127.0.0.1:{listener.getsockname()[1]}"
        pool = ConnectionPool(address, min_idle=3, checkout_timeout_s=0.2, backoff=Backoff(base_s=1.0, jitter_s=0.0))
        self.addCleanup(pool.close)  # the constructor did not raise or wait
        wait_until(lambda: pool.metrics().connect_failures == 1, what="the warm-up attempt to fail")
        with self.assertRaises(ConnectError), pool.client():  # in the backoff window: fails at once
            pass
        metrics = pool.metrics()
        self.assertEqual((metrics.connect_attempts, metrics.connections_warmed), (1, 0), "the warmer does not retry")
