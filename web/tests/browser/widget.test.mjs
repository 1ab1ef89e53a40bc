// Drives the Allmende chat widget on the demo page in headless Debian Chromium, as a citizen
// using only the keyboard would, and checks it against the server's own answer.
//
//   node widget.test.mjs http://127.0.0.1:8080 [--mode generated|extractive] [--screenshots DIR]
//
// --mode says what the server answers with: `generated` (a language model: the answer must
// arrive in several token events and be rendered piece by piece) or `extractive` (no model:
// one token event; the answer must cite the Musterstadt page on moving house and show the
// Bürgerbüro's office card). Either way it checks: launcher reachable and opened by keyboard,
// Escape closes and returns focus, AI disclosure and privacy notice, typing indicator, the
// `X-Allmende-Widget` header, the rendered answer equal to the `done` event's, numbered
// citation links to the cited URLs with licences, one live announcement per answer (not per
// token), thumbs-up feedback stored and thanked, the English UI and `language: "en"`,
// prefers-reduced-motion, axe-core WCAG 2.1 A/AA with zero violations, and reflow at 320 px
// and at 200 % zoom without horizontal scrolling. No console errors (CSP included).
//
// Chromium: /usr/bin/chromium (Debian package) or $CHROMIUM; Playwright downloads nothing.

import { mkdtempSync, rmSync, mkdirSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";
import { AxeBuilder } from "@axe-core/playwright";

const QUESTION = "Wie melde ich meinen Wohnsitz um?";
const QUESTION_EN = "How do I register my new address?";
const WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

// ---- Arguments and helpers --------------------------------------------------------------------

function parseArgs(argv) {
  const args = { url: null, mode: "generated", screenshots: null, answerTimeoutMs: 120_000 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--mode") args.mode = argv[++i];
    else if (arg === "--screenshots") args.screenshots = resolve(argv[++i]);
    else if (arg === "--answer-timeout") args.answerTimeoutMs = Number(argv[++i]) * 1000;
    else if (!args.url) args.url = arg.replace(/\/+$/, "");
    else throw new Error(`unexpected argument ${arg}`);
  }
  if (!args.url || !/^https?:\/\//.test(args.url)) {
    throw new Error("usage: node widget.test.mjs <server URL> [--mode generated|extractive] [--screenshots DIR]");
  }
  if (!["generated", "extractive"].includes(args.mode)) throw new Error(`unknown --mode ${args.mode}`);
  return args;
}

class CheckFailed extends Error {}

let checks = 0;
/** Fails the run with `message` (and optional details) unless `condition` holds. */
function check(condition, message, details) {
  checks++;
  if (!condition) {
    throw new CheckFailed(details === undefined ? message : `${message}\n${JSON.stringify(details, null, 2)}`);
  }
}

function step(text) {
  console.log(`· ${text}`);
}

/** The `(event, data)` pairs of a Server-Sent Events body. */
function sseEvents(body) {
  return body.replace(/\r\n?/g, "\n").split("\n\n").flatMap((block) => {
    let name = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) name = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    return data.length ? [{ name, data: JSON.parse(data.join("\n")) }] : [];
  });
}

/**
 * Runs `fn(shadowRoot, arg)` in the page. It is sent as an expression through the DevTools
 * protocol (the node's CSP forbids eval in the page, and the test must not switch CSP off).
 */
function inWidget(page, fn, arg) {
  return page.evaluate(
    `(${fn.toString()})(document.querySelector("allmende-chat").shadowRoot, ${JSON.stringify(arg ?? null)})`,
  );
}

/** Polls `fn(shadowRoot)` until it returns something truthy, or fails after `timeoutMs`. */
async function waitInWidget(page, fn, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await inWidget(page, fn);
    if (value) return value;
    if (Date.now() > deadline) throw new CheckFailed(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** What has keyboard focus: `page`, or the widget part (class/id) when inside the widget. */
async function focused(page) {
  return page.evaluate(() => {
    const active = document.activeElement;
    if (active?.tagName !== "ALLMENDE-CHAT") return { where: "page", tag: active?.tagName ?? null };
    const inner = active.shadowRoot.activeElement;
    return { where: "widget", tag: inner?.tagName ?? null, id: inner?.id ?? "", className: inner?.className ?? "" };
  });
}

/** Starts recording what happens in the widget: answer growth, typing indicator, live region. */
async function recordWidget(page) {
  await inWidget(page, (root) => {
    const log = { appends: [], typingShown: false, typingAnimation: null, live: [] };
    window.__widgetLog = log;
    const status = root.querySelector('[aria-live="polite"]');
    new MutationObserver((records) => {
      for (const r of records) {
        if (r.type === "characterData" && r.target.parentElement?.classList.contains("answer-text")) {
          log.appends.push({ before: r.oldValue.length, after: null });
        }
        for (const node of r.addedNodes ?? []) {
          if (node.nodeType === 1 && node.querySelector?.(".typing")) {
            log.typingShown = true;
            const dot = node.querySelector(".dots span");
            log.typingAnimation = dot ? getComputedStyle(dot).animationName : null;
          }
        }
        if (r.target === status && status.textContent) log.live.push(status.textContent);
      }
    }).observe(root, { subtree: true, childList: true, characterData: true, characterDataOldValue: true });
  });
}

async function widgetLog(page) {
  return page.evaluate(() => window.__widgetLog);
}

/**
 * Runs in the page before its scripts: keeps a copy of every /api/chat response body (a tee of
 * the stream, so the widget still reads it piece by piece as it arrives). DevTools cannot hand
 * out the body of a streamed response, so this is how the test sees what the server sent.
 */
function recordChatBodies() {
  const bodies = (window.__chatBodies = []);
  const originalFetch = window.fetch;
  window.fetch = async function (input, init) {
    const response = await originalFetch.call(this, input, init);
    if (!String(input).endsWith("/api/chat") || !response.body) return response;
    const [forPage, forTest] = response.body.tee();
    const entry = { text: "", complete: false };
    bodies.push(entry);
    (async () => {
      const reader = forTest.getReader();
      const decoder = new TextDecoder();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        entry.text += decoder.decode(value, { stream: true });
      }
      entry.complete = true;
    })();
    return new Response(forPage, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}

/** Asks `question` through the keyboard; returns the request, the SSE events and the `done` data. */
async function ask(page, question, timeoutMs) {
  const input = page.locator("allmende-chat #allmende-input");
  await input.focus();
  await page.keyboard.type(question);
  const responsePromise = page.waitForResponse((r) => r.url().endsWith("/api/chat"), { timeout: timeoutMs });
  await page.keyboard.press("Enter");
  const response = await responsePromise;
  check(response.status() === 200, `POST /api/chat answered ${response.status()}`);
  check((response.headers()["content-type"] ?? "").startsWith("text/event-stream"), "the answer is streamed as SSE");
  // The bubble is finished once the done event is rendered.
  await waitInWidget(page, (root) => {
    const last = [...root.querySelectorAll(".msg.assistant")].pop();
    return last && !last.hasAttribute("aria-busy");
  }, timeoutMs, "the finished answer");
  const body = await page.waitForFunction(() => {
    const last = window.__chatBodies[window.__chatBodies.length - 1];
    return last && last.complete && last.text;
  }, null, { timeout: 10_000 }).then((handle) => handle.jsonValue());
  const events = sseEvents(body);
  const done = events.find((e) => e.name === "done")?.data;
  check(done, "the stream ends with a done event", events.map((e) => e.name));
  return { request: response.request(), events, done };
}

/** The last answer bubble as the citizen sees it. */
function lastAnswer(page) {
  return inWidget(page, (root) => {
    const item = [...root.querySelectorAll(".msg.assistant")].pop();
    const text = item.querySelector(".answer-text");
    // What is shown: without the screen-reader-only notes such as "(opens in a new tab)".
    const visible = text.cloneNode(true);
    visible.querySelectorAll(".sr-only").forEach((n) => n.remove());
    return {
      lang: item.getAttribute("lang"),
      error: item.classList.contains("error"),
      text: visible.textContent,
      links: [...text.querySelectorAll("a")].map((a) => a.href),
      markers: [...text.querySelectorAll("a.cite")].map((a) => ({ text: a.textContent, href: a.href, label: a.getAttribute("aria-label") })),
      sources: [...item.querySelectorAll("ol.sources > li")].map((li) => ({
        number: li.value,
        href: li.querySelector("a")?.href ?? null,
        text: li.textContent,
      })),
      offices: [...item.querySelectorAll(".office")].map((o) => ({
        text: o.textContent,
        booking: o.querySelector("a.button-link")?.href ?? null,
      })),
      feedbackButtons: [...item.querySelectorAll(".feedback button")].map((b) => b.textContent.trim()),
    };
  });
}

/** Fails unless neither the page nor the open panel scrolls sideways. */
async function checkReflow(page, width, height, label) {
  await page.setViewportSize({ width, height });
  const m = await page.evaluate(() => {
    const host = document.querySelector("allmende-chat");
    const panel = host.shadowRoot.querySelector(".panel");
    const box = panel.getBoundingClientRect();
    return {
      viewport: document.documentElement.clientWidth,
      pageScrollWidth: document.documentElement.scrollWidth,
      panelScrollWidth: panel.scrollWidth,
      panelClientWidth: panel.clientWidth,
      panelLeft: box.left,
      panelRight: box.right,
    };
  });
  check(m.pageScrollWidth <= m.viewport, `${label}: the page does not scroll horizontally`, m);
  check(m.panelScrollWidth <= m.panelClientWidth, `${label}: the chat panel does not scroll horizontally`, m);
  check(m.panelLeft >= 0 && m.panelRight <= m.viewport + 0.5, `${label}: the panel fits the viewport`, m);
}

async function checkAxe(page, label) {
  const result = await new AxeBuilder({ page }).withTags(WCAG_TAGS).analyze();
  const violations = result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => ({ target: n.target, summary: n.failureSummary })),
  }));
  check(violations.length === 0, `${label}: axe finds no WCAG 2.1 A/AA violations`, violations);
  check(result.passes.length > 10, `${label}: axe actually checked the page`, result.passes.length);
  return result.passes.length;
}

// ---- The run -------------------------------------------------------------------------------------

async function run(args) {
  const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
  check(existsSync(executablePath), `Chromium at ${executablePath} (apt-get install chromium)`);
  const userDataDir = mkdtempSync(join(tmpdir(), "allmende-widget-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
    viewport: { width: 1280, height: 900 },
    locale: "de-DE",
    reducedMotion: "no-preference",
  });
  await context.addInitScript(recordChatBodies);
  const problems = [];
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on("console", (msg) => { if (msg.type() === "error") problems.push(`console: ${msg.text()}`); });
    page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
    page.setDefaultTimeout(30_000);

    step("demo page loads the widget from one script tag");
    const loaded = await page.goto(`${args.url}/demo`);
    check(loaded.status() === 200, "GET /demo is 200", loaded.status());
    check(/Stadt Musterstadt – Bürgerservice/.test(await page.locator("h1").textContent()), "demo page heading");
    await page.locator("allmende-chat .launcher").waitFor();
    const cookies = await context.cookies();
    check(cookies.length === 0, "the widget sets no cookies", cookies);

    step("keyboard: Tab to the launcher, Enter opens, focus moves to the question field");
    let onLauncher = false;
    for (let i = 0; i < 40 && !onLauncher; i++) {
      await page.keyboard.press("Tab");
      const f = await focused(page);
      onLauncher = f.where === "widget" && f.className.includes("launcher");
    }
    check(onLauncher, "the launcher is reachable with Tab");
    const launcherStyle = await inWidget(page, (root) => {
      const s = getComputedStyle(root.querySelector(".launcher"));
      return { color: s.color, background: s.backgroundColor, outline: s.outlineStyle, outlineWidth: s.outlineWidth };
    });
    check(launcherStyle.background === "rgb(11, 83, 148)" && launcherStyle.color === "rgb(255, 255, 255)",
      "launcher in data-color with white text (the widget's styles apply under the node's CSP)", launcherStyle);
    check(launcherStyle.outline !== "none" && parseFloat(launcherStyle.outlineWidth) >= 2, "visible focus style on the launcher", launcherStyle);
    await page.keyboard.press("Enter");
    check((await focused(page)).id === "allmende-input", "focus is in the question field after opening", await focused(page));
    const panelText = await page.locator("allmende-chat .panel").innerText();
    check(panelText.includes("Sie chatten mit einem KI-Assistenten."), "AI disclosure (EU AI Act Art. 50) is visible");
    check(panelText.includes("keine persönlichen Daten"), "privacy notice is visible");
    const links = await inWidget(page, (root) => [...root.querySelectorAll(".panel a")].map((a) => ({ text: a.textContent, href: a.href })));
    check(links.some((l) => l.text === "Datenschutzhinweise" && l.href.endsWith("/demo#datenschutz")), "privacy link from data-privacy-url", links);
    check(links.some((l) => l.text === "Mit einem Menschen sprechen" && l.href.endsWith("/demo#kontakt")), "handover link from data-contact-url", links);

    step("Escape closes the panel and returns focus to the launcher; Enter opens it again");
    await page.keyboard.press("Escape");
    check(await page.locator("allmende-chat .panel").isHidden(), "the panel is closed after Escape");
    check((await focused(page)).className.includes("launcher"), "focus is back on the launcher", await focused(page));
    await page.keyboard.press("Enter");
    check((await focused(page)).id === "allmende-input", "focus is in the question field again");

    step(`asks „${QUESTION}“ and waits for the streamed answer`);
    await recordWidget(page);
    const first = await ask(page, QUESTION, args.answerTimeoutMs);
    const sent = JSON.parse(first.request.postData());
    check(sent.message === QUESTION && sent.stream === true && sent.language === "de", "request body", sent);
    check((await first.request.allHeaders())["x-allmende-widget"] === "musterstadt-web", "X-Allmende-Widget header from data-widget-id");
    const tokens = first.events.filter((e) => e.name === "token");
    const log = await widgetLog(page);
    const answer = await lastAnswer(page);
    check(!answer.error, "the answer is not an error", answer);
    check(first.done.mode.kind === args.mode, `the server answered in ${args.mode} mode`, first.done.mode);
    check(log.typingShown, "a typing indicator was shown while the answer was written");
    check(log.typingAnimation === "am-bounce", "the typing indicator is animated without reduced motion", log.typingAnimation);
    check(log.appends.length === tokens.length, "every token event was rendered as it came", { appends: log.appends.length, tokens: tokens.length });
    const growth = log.appends.map((a) => a.before);
    check(growth.every((n, i) => i === 0 || n > growth[i - 1]), "the answer text only grew", growth);
    if (args.mode === "generated") {
      check(tokens.length >= 3 && growth.length >= 3, "the answer arrived incrementally (≥ 3 token events, each shown)", { tokens: tokens.length, growth });
    }
    check(answer.text === first.done.answer, "the rendered answer is the done event's answer, as text", { shown: answer.text, done: first.done.answer });
    check(answer.lang === first.done.language, "the answer bubble carries the answer's language", answer.lang);

    step("numbered citation links with licences");
    const citations = first.done.citations;
    check(citations.length >= 1, "the answer has citations", first.done);
    check(answer.markers.length >= 1, "citation markers are links", answer);
    for (const marker of answer.markers) {
      const n = Number(marker.text.replace(/\D/g, ""));
      const cited = citations.find((c) => c.number === n);
      check(cited && marker.href === new URL(cited.url).href, `marker ${marker.text} links to citation ${n}'s URL`, { marker, cited });
      check(marker.label.startsWith(`Quelle ${n}: `), `marker ${marker.text} has a descriptive name`, marker);
    }
    check(answer.sources.length === citations.length, "one source entry per citation", answer.sources);
    answer.sources.forEach((source, i) => {
      const c = citations[i];
      check(source.number === c.number && source.href === new URL(c.url).href, `source ${c.number} links to its URL`, { source, c });
      check(source.text.includes(c.title) && source.text.includes(`Lizenz: ${c.licence}`), `source ${c.number} shows title and licence`, source);
      if (c.attribution) check(source.text.includes(c.attribution), `source ${c.number} shows the attribution`, source);
    });
    check(answer.offices.length === first.done.offices.length, "one office card per office in the answer", { shown: answer.offices, sent: first.done.offices });
    if (args.mode === "extractive") {
      check(citations[0].url.endsWith("/leistungen/wohnsitz-ummelden"), "the first source is the page on moving house", citations[0]);
      const office = answer.offices[0];
      check(office && office.text.includes("Bürgerbüro Mitte") && office.text.includes("Öffnungszeiten:") && office.text.includes("Telefon:"),
        "the Bürgerbüro's card with opening hours and phone", answer.offices);
      check(office.booking?.endsWith("/termin/buergerbuero-mitte"), "the card links to the appointment booking", office);
    }

    step("one live announcement for the finished answer, not one per token");
    await waitInWidget(page, (root) => /^Antwort: /.test(root.querySelector('[aria-live="polite"]').textContent),
      10_000, "the live announcement");
    const live = (await widgetLog(page)).live;
    const answerAnnouncements = live.filter((text) => text.startsWith("Antwort: "));
    check(answerAnnouncements.length === 1, "the answer was announced once", live);
    check(live.length <= 2, "the live region spoke at most twice (typing, answer)", live);
    check(!/\[\d+\]/.test(answerAnnouncements[0]), "the announcement leaves out citation markers", answerAnnouncements[0]);

    step("thumbs up → POST /api/feedback → thank-you");
    check(answer.feedbackButtons.length === 2, "thumbs up and down", answer.feedbackButtons);
    const feedbackPromise = page.waitForResponse((r) => r.url().endsWith("/api/feedback"));
    await page.locator('allmende-chat .msg.assistant >> nth=-1 >> button[data-rating="up"]').click();
    const feedback = await feedbackPromise;
    const feedbackSent = JSON.parse(feedback.request().postData());
    check(feedbackSent.answer_id === first.done.request_id && feedbackSent.rating === "up", "feedback names the answer and the rating", feedbackSent);
    check(feedback.ok(), `POST /api/feedback answered ${feedback.status()}`,
      feedback.ok() ? undefined : await feedback.text().catch(() => ""));
    await page.locator("allmende-chat .feedback-done", { hasText: "Danke für Ihre Rückmeldung!" }).waitFor();
    check((await focused(page)).className.includes("feedback-done"), "focus moves to the thank-you", await focused(page));

    if (args.screenshots) {
      step(`screenshots → ${args.screenshots}`);
      mkdirSync(args.screenshots, { recursive: true });
      const showAnswer = () => inWidget(page, (root) => {
        // The end of the answer with its markers, then the sources and the office card (the
        // panel scrolls only this region).
        const extra = [...root.querySelectorAll(".msg.assistant .extra")].pop();
        root.querySelector(".conversation").scrollTop = extra.offsetTop - 70;
      });
      await page.setViewportSize({ width: 1280, height: 900 });
      await showAnswer();
      await page.screenshot({ path: join(args.screenshots, "widget-desktop.png") });
      await page.setViewportSize({ width: 390, height: 844 });
      await showAnswer();
      await page.screenshot({ path: join(args.screenshots, "widget-mobile.png") });
      await page.setViewportSize({ width: 1280, height: 900 });
    }

    step("axe-core WCAG 2.1 A/AA on the open widget with an answer");
    await checkAxe(page, "German, desktop");

    step("switch to English: UI strings, and language en is sent");
    await page.locator("allmende-chat select").focus();
    await page.locator("allmende-chat select").selectOption("en");
    const english = await inWidget(page, (root) => ({
      lang: root.querySelector(".panel").getAttribute("lang"),
      label: root.querySelector('label[for="allmende-input"]').textContent,
      disclosure: root.querySelector(".notice strong").textContent,
      send: root.querySelector(".send").textContent,
      links: [...root.querySelectorAll(".links a")].map((a) => a.textContent),
      feedback: root.querySelector(".feedback-done")?.textContent ?? null,
    }));
    check(english.lang === "en" && english.label === "Your question" && english.send === "Send", "UI strings are English", english);
    check(english.disclosure === "You are chatting with an AI assistant.", "the AI disclosure is English", english);
    check(english.links.includes("Talk to a person"), "the handover link is English", english);
    check(english.feedback === "Thank you for your feedback!", "the given feedback stays recorded", english);
    await page.emulateMedia({ reducedMotion: "reduce" });
    await recordWidget(page);
    const second = await ask(page, QUESTION_EN, args.answerTimeoutMs);
    const sentEn = JSON.parse(second.request.postData());
    check(sentEn.language === "en", "language en is sent", sentEn);
    check(second.done.language === "en", "the answer is in English", second.done.language);
    const secondLog = await widgetLog(page);
    check(secondLog.typingShown && secondLog.typingAnimation === "none", "with prefers-reduced-motion the typing indicator does not move", secondLog.typingAnimation);
    const answerEn = await lastAnswer(page);
    check(answerEn.lang === "en" && answerEn.feedbackButtons.includes("Helpful"), "English answer bubble", answerEn);
    await checkAxe(page, "English, desktop");

    step("reflow: 320 px wide and 200 % zoom (640 × 450 CSS px) without horizontal scrolling");
    await checkReflow(page, 320, 640, "320 px");
    await checkAxe(page, "English, 320 px");
    await checkReflow(page, 640, 450, "200 % zoom");

    step("friendly errors: 429 with Retry-After, a server error, no network (routed responses)");
    await page.setViewportSize({ width: 1280, height: 900 });
    const consoleBefore = problems.length;
    const failures = [
      { route: (r) => r.fulfill({ status: 429, headers: { "retry-after": "17" }, contentType: "application/json",
        body: JSON.stringify({ error: { code: "rate_limited", message: "too many requests", request_id: "r-429" } }) }),
        expect: "The assistant is very busy right now. Please try again in 17 seconds." },
      { route: (r) => r.fulfill({ status: 500, contentType: "application/json",
        body: JSON.stringify({ error: { code: "internal", message: "panicked at src/routes/chat.rs:12: SELECT * FROM x", request_id: "r-500" } }) }),
        expect: "Your question could not be answered right now. Please try again later. Reference: r-500" },
      { route: (r) => r.abort("internetdisconnected"),
        expect: "The assistant cannot be reached right now. Please check your internet connection and try again." },
    ];
    for (const failure of failures) {
      await page.route("**/api/chat", failure.route);
      await page.locator("allmende-chat #allmende-input").fill("Was kostet ein Personalausweis?");
      await page.locator("allmende-chat #allmende-input").press("Enter");
      const shown = await waitInWidget(page, (root) => {
        const last = [...root.querySelectorAll(".msg.assistant")].pop();
        return last.classList.contains("error") && !last.hasAttribute("aria-busy") && last.querySelector(".answer-text").textContent;
      }, 10_000, "the error message");
      await page.unroute("**/api/chat");
      check(shown === failure.expect, "a friendly error message, no internals", { shown, expected: failure.expect });
      check(await page.locator("allmende-chat #allmende-input").inputValue() === "Was kostet ein Personalausweis?",
        "the question is back in the field for another try");
      await page.locator("allmende-chat #allmende-input").fill("");
    }
    // The routed failures log "Failed to load resource" in the console; nothing else may.
    const routed = problems.splice(consoleBefore);
    check(routed.every((p) => p.startsWith("console: Failed to load resource")), "only the routed failures were logged", routed);

    step("Escape from inside an answer closes the panel and returns focus");
    await page.locator('allmende-chat .msg.assistant:not(.error) >> nth=-1 >> button[data-rating="down"]').focus();
    await page.keyboard.press("Escape");
    check(await page.locator("allmende-chat .panel").isHidden(), "closed");
    check((await focused(page)).className.includes("launcher"), "focus on the launcher");
    await checkAxe(page, "closed widget");

    step("a light data-color gets black text and still passes axe (routed municipal page)");
    const light = await context.newPage();
    light.on("pageerror", (err) => problems.push(`page error (light): ${err.message}`));
    await light.route("**/gelbstadt", (r) => r.fulfill({
      contentType: "text/html; charset=utf-8",
      body: `<!doctype html><html lang="de"><head><meta charset="utf-8"><title>Gelbstadt</title>
        <link rel="icon" href="data:,"></head><body><h1>Gelbstadt</h1>
        <script src="/widget.js" data-municipality="Gelbstadt" data-color="#ffd700" data-widget-id="gelbstadt" defer></script>
        </body></html>`,
    }));
    await light.goto(`${args.url}/gelbstadt`);
    await light.locator("allmende-chat .launcher").click();
    const lightColours = await light.evaluate(() => {
      const root = document.querySelector("allmende-chat").shadowRoot;
      const launcher = getComputedStyle(root.querySelector(".head"));
      return { text: launcher.color, background: launcher.backgroundColor, link: getComputedStyle(root.querySelector(".link-button")).color };
    });
    check(lightColours.background === "rgb(255, 215, 0)" && lightColours.text === "rgb(0, 0, 0)", "black text on a light brand colour", lightColours);
    check(lightColours.link !== "rgb(255, 215, 0)", "links use a darkened brand colour", lightColours);
    await checkAxe(light, "light brand colour");
    await light.close();

    const storage = await page.evaluate(() => ({ local: localStorage.length, session: Object.keys(sessionStorage) }));
    check(storage.local === 0, "nothing in localStorage", storage);
    check(storage.session.every((k) => k.startsWith("allmende-chat:")), "sessionStorage holds only the conversation", storage);
    check(problems.length === 0, "no console errors or page errors", problems);
  } finally {
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
}

const args = parseArgs(process.argv.slice(2));
try {
  await run(args);
  console.log(`widget browser test passed (${args.mode}): ${checks} checks`);
} catch (error) {
  console.error(`widget browser test FAILED after ${checks} checks: ${error instanceof CheckFailed ? error.message : error.stack}`);
  process.exit(1);
}
