"""Twenty concurrent changes of one scope: the workers, the audit and ``GET /policies`` agree.

One real broker, the API's real publisher, a worker's policy follower and the API's
own follower of ``credit.policies`` (as ``creditbrain api`` runs it).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import httpx
import orjson
import pytest

from creditbrain.api import create_app
from creditbrain.api.server import KafkaPolicyPublisher
from creditbrain.infra.broker import EmbeddedBroker, TopicSpec, ensure_topics
from creditbrain.infra.store import Store
from creditbrain.schemas.contract import POLICIES, topic_name
from creditbrain.streams.policies import PolicyFollower, PolicyView
from tests.api.conftest import audit_rows, key_header, settings_for_tests

pytestmark = pytest.mark.integration

SCOPE = "sector=food_drug"
CHANGES = 20


def _workers(policies: object) -> int:
    rule = policies.resolve("wage_arrears", "food_drug", "371102")  # type: ignore[attr-defined]
    return int(rule.thresholds["red_workers"])


async def test_concurrent_changes_of_one_scope_end_in_agreement(
    embedded_broker: EmbeddedBroker, store: Store, fresh_topic: Callable[[str], str]
) -> None:
    bootstrap = embedded_broker.bootstrap
    prefix = fresh_topic("race").replace(".", "-") + uuid.uuid4().hex[:4]
    topic = topic_name(prefix, POLICIES)
    ensure_topics(bootstrap, [TopicSpec(topic, 1, compacted=True)])
    base = settings_for_tests()
    settings = base.model_copy(
        update={"kafka": base.kafka.model_copy(update={"topic_prefix": prefix})}
    )
    worker, api_view = PolicyView(), PolicyView()
    followers = [PolicyFollower(bootstrap, topic, view) for view in (worker, api_view)]
    publisher = KafkaPolicyPublisher(bootstrap)
    app = create_app(settings, lambda: store, publisher, policies=lambda _: api_view.policies)
    for follower in followers:
        await follower.start()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:

            async def change(number: int) -> httpx.Response:
                body = {
                    "override": {
                        "rules": {"wage_arrears": {"thresholds": {"red_workers": number}}}
                    },
                    "reason": f"change {number}",
                }
                return await client.put(
                    f"/policies/{SCOPE}", json=body, headers=key_header("k-food")
                )

            answers = await asyncio.gather(*(change(n) for n in range(1, CHANGES + 1)))
            assert [answer.status_code for answer in answers] == [200] * CHANGES
            versions = sorted(answer.json()["version"] for answer in answers)
            assert versions == list(range(1, CHANGES + 1))
            rows = [orjson.loads(str(row["details"])) for row in audit_rows(store, "policy_change")]
            by_version = sorted(rows, key=lambda row: row["version"])
            # Each change's "before" is the one before it: no stale reads.
            for earlier, later in zip(by_version, by_version[1:], strict=False):
                assert later["before"] == earlier["after"]
            last = by_version[-1]["after"]["rules"]["wage_arrears"]["thresholds"]["red_workers"]
            for _ in range(100):  # the followers read the topic back
                if all(f.applied == CHANGES for f in followers):
                    break
                await asyncio.sleep(0.1)
            assert _workers(worker.policies) == _workers(api_view.policies) == last
            shown = (await client.get("/policies", headers=key_header("k-admin"))).json()
            assert shown["overrides"][SCOPE]["rules"]["wage_arrears"]["thresholds"] == {
                "red_workers": last
            }
            [newest, *_] = (
                await client.get("/policies/history", headers=key_header("k-admin"))
            ).json()["items"]
            assert newest["version"] == CHANGES and newest["after"] == by_version[-1]["after"]
    finally:
        for follower in followers:
            await follower.stop()
        await publisher.stop()
