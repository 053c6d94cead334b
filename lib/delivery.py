"""How each trigger invokes the function, per cloud, and so who retries a retryable failure.

Raising makes FunctionGraph retry an *asynchronous* invocation only; a synchronous one is retried by its caller or
not at all ("Synchronous invocation: Try again", OTC function-graph umn/source/invoking_the_function/
retry_mechanism.rst). Where the platform's own documents disagree about a trigger, the function does not rely on
raising: it hands the failure on through SMN itself (lib/runner/handoff.py).

Sources, by short name:
- OTC-ASYNC: OTC function-graph umn/source/invoking_the_function/asynchronous_invocation.rst ("The following
  triggers are invoked asynchronously by default and the invocation mode cannot be changed": SMN, Timer,
  DMS for Kafka, ...), unchanged 2024-04 to 2026-04.
- OTC-FEATURES: OTC function-graph umn/source/service_overview/product_features.rst, since 2025-10:
  "Timer | Synchronous (default)"; DMS for Kafka and open-source Kafka "Asynchronous (default and cannot be
  changed)"; a 2025-05 revision listed DMS for Kafka and for RocketMQ as "Synchronous invocation".
- OTC-SYNC: OTC function-graph umn/source/invoking_the_function/synchronous_invocation.rst ("functions with
  APIG (dedicated) triggers are executed synchronously").
- HWC-ASYNC: support.huaweicloud.com usermanual-functiongraph functiongraph_01_1062 (zh, 2024-07; en, 2026-01):
  SMN, Timer, DMS for Kafka asynchronous.
- HWC-OVERVIEW: support.huaweicloud.com usermanual-functiongraph functiongraph_01_0399, two Chinese revisions:
  Timer "默认为异步调用，且不可修改" (asynchronous) and "默认为同步调用,且不可修改" (synchronous); the English
  page (2025-08) says "Timer | Synchronous (default and cannot be changed)"; APIG "默认为同步调用".
- Kafka and RocketMQ triggers are polled by the platform (OTC using_a_kafka_trigger.rst, using_a_rocketmq_trigger.rst);
  neither cloud documents what a raised error does to the batch.
- EG-TARGET: Huawei Cloud EventGrid delivers to a function through an event subscription's target, whose detail
  says ``invoke_type`` SYNC or ASYNC and which has its own ``retry_times`` and ``dead_letter_queue``
  (terraform-provider-huaweicloud docs/resources/eg_event_subscription_target.md and
  huaweicloud/services/eg/resource_huaweicloud_eg_event_subscription_target.go; the ASYNC FunctionGraph target in
  docs/resources/eg_event_subscription.md). ASYNC: the function's own asynchronous retries apply (HWC-ASYNC's
  mechanism); SYNC: EventGrid retries ``retry_times``, then dead-letters. Which one a subscription uses is the
  subscriber's choice, and no document says whether EventGrid counts a function error as a failed delivery.
  Open Telekom Cloud has no EventGrid (its "Regions and Endpoints" list no such service): a CloudEvent reaches the
  function there only through the invoke APIs or a gateway, from a sender the function cannot see.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from lib.models import Trigger


class Retry(str, enum.Enum):
    #: Asynchronous: raising after the results are out makes the platform retry the event.
    PLATFORM = "platform"
    #: Synchronous: the caller gets the answer (a retryable HTTP status, or the invoke API's error) and retries.
    CALLER = "caller"
    #: The platform's documents disagree: raising may or may not lead to a retry.
    UNCERTAIN = "uncertain"


@dataclass(frozen=True)
class Cell:
    retry: Retry
    source: str


OTC = "otc"
HUAWEICLOUD = "huaweicloud"

TABLE: dict[tuple[Trigger, str], Cell] = {
    (Trigger.SMN, OTC): Cell(Retry.PLATFORM, "OTC-ASYNC; OTC-FEATURES"),
    (Trigger.SMN, HUAWEICLOUD): Cell(Retry.PLATFORM, "HWC-ASYNC"),
    (Trigger.TIMER, OTC): Cell(Retry.UNCERTAIN, "OTC-ASYNC says asynchronous, OTC-FEATURES synchronous"),
    (Trigger.TIMER, HUAWEICLOUD): Cell(Retry.UNCERTAIN, "HWC-ASYNC asynchronous; HWC-OVERVIEW both, in Chinese too"),
    (Trigger.KAFKA, OTC): Cell(Retry.UNCERTAIN, "OTC-ASYNC asynchronous; a 2025 OTC-FEATURES revision synchronous"),
    (Trigger.KAFKA, HUAWEICLOUD): Cell(Retry.UNCERTAIN, "HWC-ASYNC asynchronous; platform-polled, retry undocumented"),
    (Trigger.ROCKETMQ, OTC): Cell(Retry.UNCERTAIN, "only a 2025 OTC-FEATURES revision: synchronous"),
    (Trigger.ROCKETMQ, HUAWEICLOUD): Cell(Retry.UNCERTAIN, "not documented"),
    (Trigger.CLOUDEVENTS, OTC): Cell(Retry.UNCERTAIN, "EG-TARGET: no EventGrid; the sender is unknown"),
    (Trigger.CLOUDEVENTS, HUAWEICLOUD): Cell(
        Retry.UNCERTAIN, "EG-TARGET: the subscription's invoke_type decides (ASYNC: FunctionGraph; SYNC: retry_times)"
    ),
    (Trigger.APIG, OTC): Cell(Retry.CALLER, "OTC-SYNC"),
    (Trigger.APIG, HUAWEICLOUD): Cell(Retry.CALLER, "HWC-OVERVIEW"),
    (Trigger.SLACK, OTC): Cell(Retry.CALLER, "OTC-SYNC (an API Gateway route)"),
    (Trigger.SLACK, HUAWEICLOUD): Cell(Retry.CALLER, "HWC-OVERVIEW (an API Gateway route)"),
    (Trigger.TEAMS, OTC): Cell(Retry.CALLER, "OTC-SYNC (an API Gateway route)"),
    (Trigger.TEAMS, HUAWEICLOUD): Cell(Retry.CALLER, "HWC-OVERVIEW (an API Gateway route)"),
    (Trigger.MATTERMOST, OTC): Cell(Retry.CALLER, "OTC-SYNC (an API Gateway route)"),
    (Trigger.MATTERMOST, HUAWEICLOUD): Cell(Retry.CALLER, "HWC-OVERVIEW (an API Gateway route)"),
    # The invoke APIs: synchronous (/invocations, the caller sees the error) or asynchronous (/invocations-async,
    # the platform retries): raising helps either way.
    (Trigger.DIRECT, OTC): Cell(Retry.PLATFORM, "OTC api-ref executing_a_function_(a)synchronously.rst"),
    (Trigger.DIRECT, HUAWEICLOUD): Cell(Retry.PLATFORM, "the same invoke APIs"),
}


def retry_of(trigger: Trigger, cloud: str | None) -> Retry:
    """Who retries a retryable failure of an event from ``trigger``; with the cloud unknown, both must agree."""
    if cloud is not None:
        return TABLE[(trigger, cloud)].retry
    otc, huawei = TABLE[(trigger, OTC)].retry, TABLE[(trigger, HUAWEICLOUD)].retry
    return otc if otc is huawei else Retry.UNCERTAIN
