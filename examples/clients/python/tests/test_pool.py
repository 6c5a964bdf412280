"""ConnectionPool behaviour beyond the fault list: reuse, health checks, fork safety, metrics."""

from __future__ import annotations

import os
import socket
import time

from blink_client import Backoff, ConnectError, ConnectionPool, PoolClosedError

from .support import ServerTestCase


class Pool(ServerTestCase):
    def pool(self, **settings: float) -> ConnectionPool:
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
