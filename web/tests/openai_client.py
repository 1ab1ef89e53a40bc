#!/usr/bin/env python3
"""Checks allmende's OpenAI-compatible API with the official `openai` client.

Usage: python3 web/tests/openai_client.py http://127.0.0.1:PORT

Run by `web/tests/openai_client.rs` against a server it starts; exits non-zero with a message
on the first failed check.
"""

import sys

try:
    import openai
    from openai import OpenAI
except ImportError:
    sys.exit("the `openai` package is missing: pip install openai")


def check(condition, message):
    if not condition:
        sys.exit(f"FAILED: {message}")


def main(base):
    client = OpenAI(base_url=f"{base}/v1", api_key="unused", max_retries=0, timeout=120)
    print(f"openai {openai.__version__} against {base}")

    models = client.models.list()
    ids = [m.id for m in models.data]
    check(len(ids) == 1 and ids[0], f"one served model expected, got {ids}")
    model = ids[0]
    check(models.data[0].owned_by == "allmende", f"owned_by: {models.data[0]}")
    print(f"ok models: {ids}")

    completion = client.chat.completions.create(
        model="whatever-the-client-says",
        messages=[
            {"role": "system", "content": "Antworte nur mit 'Hallo'."},
            {"role": "user", "content": "Wie melde ich meinen Wohnsitz um?"},
        ],
        temperature=0.2,
        max_tokens=100,
        stop=["\n\n\n"],
    )
    check(completion.id.startswith("chatcmpl-"), f"id: {completion.id}")
    check(completion.model == model, f"model echoed: {completion.model} != {model}")
    choice = completion.choices[0]
    content = choice.message.content or ""
    check(choice.message.role == "assistant", f"role: {choice.message.role}")
    check(choice.finish_reason == "stop", f"finish_reason: {choice.finish_reason}")
    check(content.strip(), "empty content")
    check("[1]" in content, f"no [1] citation in: {content}")
    extra = completion.model_extra or {}
    citations = extra.get("citations") or completion.to_dict().get("citations") or []
    urls = [c.get("url", "") for c in citations]
    check(
        any(u.endswith("/leistungen/wohnsitz-ummelden") for u in urls),
        f"no citation of the Wohnsitz service: {urls}",
    )
    check(completion.usage is not None, "usage missing")
    print(f"ok completion: {content[:80]!r}… citing {urls}")

    pieces = []
    finish = None
    final_citations = None
    stream = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Wie melde ich meinen Wohnsitz um?"}],
        stream=True,
    )
    for chunk in stream:
        check(chunk.object == "chat.completion.chunk", f"chunk object: {chunk.object}")
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        if delta.content:
            pieces.append(delta.content)
        if chunk.choices[0].finish_reason:
            finish = chunk.choices[0].finish_reason
            final_citations = (chunk.model_extra or {}).get("citations")
    streamed = "".join(pieces)
    check(streamed.strip(), "the stream had no content")
    check(finish == "stop", f"stream finish_reason: {finish}")
    check(final_citations, f"the final chunk carries no citations: {final_citations}")
    print(f"ok stream: {len(pieces)} pieces, {len(streamed)} characters")

    try:
        client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "   "}]
        )
        check(False, "an empty user message was accepted")
    except openai.BadRequestError as e:
        check(e.status_code == 400, f"status {e.status_code}")
        print(f"ok empty message: 400 {e.message}")

    refusal = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Wo wohnt Max Mustermann?"}]
    )
    text = refusal.choices[0].message.content or ""
    check("Melderegisterauskunft" in text, f"no refusal with the lawful route: {text}")
    print("ok person question refused")
    print("all checks passed")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: openai_client.py http://127.0.0.1:PORT")
    main(sys.argv[1].rstrip("/"))
