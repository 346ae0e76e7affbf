"""Careful mode's latency against its floor, and the share of answers its check changed.

The floor is the verifier model's bare evaluation of the very prompts the check sent (the
first candidate's, or each item's of a list; the model's reading of the passage and the check
of what it read, when the cut file asks for a reading; then each next-best candidate it
tried), summed: the same messages posted straight to the same backend for one token, with no
log-probabilities and no prompt cache (llama.cpp's `cache_prompt: false`), right after the
check, question by question. llama.cpp also reports its own prompt-evaluation milliseconds;
those are kept too.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from qa.benchmarks.corpus import workload
from qa.benchmarks.stats import ratio, summary_ms

if TYPE_CHECKING:
    from qa.assistant import Assistant
    from qa.verify import Verifier

WARM_QUESTIONS = 2


def floor_once(
    verifier: Verifier, question: str, passage: str, answer: str | None
) -> tuple[float, dict[str, Any]]:
    """Seconds for the backend to evaluate the check's prompt (the reading's, for `answer`
    None) and give one token; and the server's own `timings` (llama.cpp: prompt_n,
    prompt_ms), empty when it sends none."""
    import httpx

    from qa.verify import read_messages, verify_messages

    messages = (
        read_messages(question, passage)
        if answer is None
        else verify_messages(question, passage, answer)
    )
    model: Any = verifier.model
    key = model.openai_api_key.get_secret_value() if model.openai_api_key else "unused"
    roles = {"human": "user", "system": "system", "ai": "assistant"}
    body = {
        "model": model.model_name,
        "messages": [{"role": roles[m.type], "content": m.content} for m in messages],
        "max_tokens": 1,
        "temperature": 0.0,
        "cache_prompt": False,
    }
    url = str(model.openai_api_base).rstrip("/") + "/chat/completions"
    t = time.perf_counter()
    response = httpx.post(
        url, json=body, headers={"Authorization": f"Bearer {key}"}, timeout=verifier.timeout_s
    )
    seconds = time.perf_counter() - t
    response.raise_for_status()
    return seconds, dict(response.json().get("timings") or {})


def bench_careful(assistant: Assistant, questions: Sequence[str], n: int) -> dict[str, Any]:
    """`n` distinct questions in careful mode (the fast answer, then its check), each check
    followed by its floor."""
    from index.errors import NewsQAError
    from qa.answer import Answer, Checking
    from qa.careful import (
        adds,
        check_inputs,
        list_items,
        several,
        short_answer,
        shown_passages,
    )
    from qa.verify import Verifier

    try:
        verifier = assistant.verifier()
        cut = assistant.careful_cut()
    except NewsQAError as exc:
        return {"skipped": f"careful mode was not measured: {exc}"}
    if not isinstance(verifier, Verifier):
        return {"skipped": "careful mode was not measured: its verifier is not an HTTP backend"}
    for question in questions[:WARM_QUESTIONS]:
        assistant.ask(question, verify=True)
    careful_s: list[float] = []
    check_s: list[float] = []
    floor_s: list[float] = []
    server_prompt_ms: list[float] = []
    prompt_tokens: list[float] = []
    outcomes: dict[str, int] = {}
    changed = 0
    for question in workload(questions, n, offset=WARM_QUESTIONS):
        t = time.perf_counter()
        events = list(assistant.stream(question, verify=True))
        careful_s.append(time.perf_counter() - t)
        fast = next(e.answer for e in events if isinstance(e, Checking))
        answer = events[-1]
        assert isinstance(answer, Answer) and answer.check is not None
        found = answer.check
        outcomes[found.outcome] = outcomes.get(found.outcome, 0) + 1
        changed += found.changed
        if found.outcome not in ("kept", "answered", "replaced", "abstained"):
            continue
        check_s.append(answer.timings_ms["check_ms"] / 1000)
        # Every prompt the check sent: the first candidate's, the reading and its check,
        # then the next-best ones tried.
        target = (fast.unabstained if fast.abstained else None) or fast
        first = check_inputs(fast, found.asked)
        prompts: list[tuple[str, str, str | None] | None] = [first]
        parts = list_items(target, first[2]) if first is not None else []
        if first is not None and parts:
            # A list: each item was proposed alone, with the same passages.
            prompts = [(first[0], first[1], item) for item in parts]
        turned_down = found.outcome in ("abstained", "replaced")
        if first is not None and cut.read and (turned_down or not several(target, first[2])):
            prompts.append((first[0], first[1], None))
            read = None if found.read is None else target.ground(found.read, shown_passages(target))
            questions = (first[0], fast.question)
            if read is not None and adds(short_answer(read), first[2], questions):
                prompts.append((first[0], first[1], short_answer(read)))
        prompts += [
            check_inputs(alt, found.asked)
            for alt in (target.alternatives()[: found.tried] if found.tried else ())
        ]
        floor_total, server_ms, tokens = 0.0, 0.0, 0.0
        for asked in prompts:
            if asked is None:
                continue
            seconds, timings = floor_once(verifier, *asked)
            floor_total += seconds
            server_ms += float(timings.get("prompt_ms") or 0)
            tokens += float(timings.get("prompt_n") or 0)
        floor_s.append(floor_total)
        if server_ms:
            server_prompt_ms.append(server_ms)
            prompt_tokens.append(tokens)
    answered = len(careful_s)
    out: dict[str, Any] = {
        "questions": answered,
        "verifier": verifier.where,
        "cut": cut.p_no,
        "outcomes": dict(sorted(outcomes.items())),
        "changed_share": round(changed / answered, 3) if answered else None,
        "careful": summary_ms(careful_s),
    }
    if not check_s:
        return {**out, "skipped": "no answer was checked (every fast answer abstained)"}
    check, floor = summary_ms(check_s), summary_ms(floor_s)
    out.update(
        checked=len(check_s),
        check=check,
        floor=floor,
        check_ratio_to_floor=ratio(check["p50_ms"], floor["p50_ms"]),
        check_ratio_to_floor_p95=ratio(check["p95_ms"], floor["p95_ms"]),
        careful_ratio_to_floor=ratio(out["careful"]["p50_ms"], floor["p50_ms"]),
    )
    if server_prompt_ms:
        from statistics import median

        out["server_prompt_ms_p50"] = round(median(server_prompt_ms), 1)
        out["prompt_tokens_p50"] = round(median(prompt_tokens), 1)
        out["check_ratio_to_server_prompt"] = ratio(check["p50_ms"], median(server_prompt_ms))
    return out
