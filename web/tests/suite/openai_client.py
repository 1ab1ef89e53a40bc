#!/usr/bin/env python3
"""Checks allmende's OpenAI-compatible API with the official `openai` client.

Usage: python3 web/tests/openai_client.py http://127.0.0.1:PORT [--embeddings]

Run by `web/tests/openai_client.rs` against a server it starts; exits non-zero with a message
on the first failed check. With `--embeddings` the server has the multilingual-e5-small encoder
and `/v1/embeddings` is checked too (vectors of unit length; a Personalausweis question is
closer to the Personalausweis passage than to an unrelated one).
"""

import math
import sys

try:
    import openai
    from openai import OpenAI
except ImportError:
    sys.exit("the `openai` package is missing: pip install openai")


def check(condition, message):
    if not condition:
        sys.exit(f"FAILED: {message}")


def dot(a, b):
    return sum(x * y for x, y in zip(a, b))


def check_embeddings(client):
    passages = [
        "Den Personalausweis beantragen Sie persönlich im Bürgerbüro; bringen Sie ein "
        "biometrisches Passfoto mit.",
        "Die Biotonne wird in Musterstadt alle zwei Wochen geleert.",
    ]
    # The client asks for base64 by default and decodes it.
    result = client.embeddings.create(model="multilingual-e5-small", input=passages)
    check(result.model == "multilingual-e5-small", f"model: {result.model}")
    check(len(result.data) == 2, f"two vectors expected: {len(result.data)}")
    check([d.index for d in result.data] == [0, 1], "indices in input order")
    vectors = [d.embedding for d in result.data]
    for v in vectors:
        check(len(v) == 384, f"dimension {len(v)}")
        norm = math.sqrt(dot(v, v))
        check(abs(norm - 1.0) < 1e-3, f"norm {norm}")
    check(result.usage.prompt_tokens > 10, f"usage: {result.usage}")
    check(result.usage.total_tokens == result.usage.prompt_tokens, f"usage: {result.usage}")
    floats = client.embeddings.create(
        model="multilingual-e5-small", input=passages[0], encoding_format="float"
    )
    diff = max(abs(a - b) for a, b in zip(floats.data[0].embedding, vectors[0]))
    check(diff < 1e-6, f"float and base64 vectors differ by {diff}")
    query = client.embeddings.create(
        model="multilingual-e5-small",
        input="Wo kann ich einen neuen Personalausweis beantragen?",
        extra_body={"input_type": "query"},
    ).data[0].embedding
    right, wrong = dot(query, vectors[0]), dot(query, vectors[1])
    check(right > wrong + 0.05, f"Personalausweis {right:.3f} vs Biotonne {wrong:.3f}")
    try:
        client.embeddings.create(model="text-embedding-3-small", input="x")
        check(False, "an unknown embedding model was accepted")
    except openai.BadRequestError as e:
        check(e.status_code == 400, f"status {e.status_code}")
    print(f"ok embeddings: norm 1, query·passage {right:.3f} > {wrong:.3f}")


def main(base, embeddings):
    client = OpenAI(base_url=f"{base}/v1", api_key="unused", max_retries=0, timeout=120)
    print(f"openai {openai.__version__} against {base}")

    models = client.models.list()
    ids = [m.id for m in models.data]
    want = 2 if embeddings else 1
    check(len(ids) == want and ids[0], f"{want} served models expected, got {ids}")
    if embeddings:
        check(ids[1] == "multilingual-e5-small", f"the embedding model is listed: {ids}")
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
    if embeddings:
        check_embeddings(client)
    print("all checks passed")


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) not in (1, 2) or (len(args) == 2 and args[1] != "--embeddings"):
        sys.exit("usage: openai_client.py http://127.0.0.1:PORT [--embeddings]")
    main(args[0].rstrip("/"), len(args) == 2)
