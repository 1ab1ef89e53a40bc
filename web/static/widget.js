/* Allmende chat widget: the citizen assistant of an Allmende node, embedded with one script tag.
 *
 *   <script src="NODE/widget.js" data-municipality="Musterstadt" data-color="#0b5394"
 *     data-languages="de,en" data-contact-url="/kontakt" data-appointment-url="/termin"
 *     data-privacy-url="/datenschutz" data-widget-id="musterstadt-web"
 *     data-allowed-link-origins="ORIGIN ORIGIN" defer></script>
 *
 * (NODE is the address of the Allmende node; every data-* attribute is optional.)
 *
 * The script mounts one <allmende-chat> element: a launcher button and a chat panel inside a
 * Shadow DOM with its own styles. Nothing is loaded from third parties (no fonts, images or
 * scripts), no cookies are sent and nothing goes to localStorage: the conversation lives in
 * this tab's memory and sessionStorage only. API calls go to the node this script came from
 * (answers streamed from POST /api/chat, ratings to POST /api/feedback) and carry
 * `X-Allmende-Widget: <data-widget-id>`.
 *
 * Safety: model output is only ever inserted as text nodes. Citation markers [n] become links
 * to the URLs of the server's own citations; other URLs in an answer become links only when
 * their origin is allowed (a cited origin, an origin of the configured links, or
 * data-allowed-link-origins) and otherwise stay plain text.
 *
 * Accessibility (WCAG 2.1 AA / BITV 2.0): keyboard operable (Escape closes and returns focus to
 * the launcher), labelled controls, visible focus, one polite live announcement per finished
 * answer (not per token), text colours chosen for 4.5:1 contrast, reflow down to 320 px,
 * prefers-reduced-motion respected.
 *
 * Sections: 1 configuration · 2 UI strings · 3 colours and contrast · 4 DOM and link helpers ·
 * 5 Server-Sent Events · 6 conversation store · 7 answer rendering · 8 the <allmende-chat>
 * element · 9 mounting.
 */
(function () {
  "use strict";

  var TAG = "allmende-chat";
  if (!window.customElements || !window.fetch || customElements.get(TAG)) {
    return;
  }

  /* ---- 1. Configuration ------------------------------------------------------------------ */

  var SCRIPT = document.currentScript;
  var DEFAULT_COLOR = "#0b5394";
  var MAX_QUESTION_CHARS = 1000;
  var MAX_STORED_MESSAGES = 40;
  // Filled in by the node when it serves this file (the content of widget.css).
  var WIDGET_CSS = "__ALLMENDE_WIDGET_CSS__";

  /** The URL this script was loaded from; the API lives next to it. */
  function scriptUrl() {
    var src = SCRIPT && SCRIPT.src;
    if (!src) {
      var found = document.querySelector('script[src$="widget.js"]');
      src = found ? found.src : "widget.js";
    }
    return new URL(src, document.baseURI);
  }

  /** An http(s) URL from configuration, resolved against the page; null otherwise. */
  function configUrl(value) {
    if (!value) { return null; }
    try {
      var url = new URL(value, document.baseURI);
      return (url.protocol === "https:" || url.protocol === "http:") ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  /** An origin (scheme://host[:port]) from a URL or origin string; null otherwise. */
  function originOf(value) {
    try {
      var url = new URL(value, document.baseURI);
      return (url.protocol === "https:" || url.protocol === "http:") ? url.origin : null;
    } catch (e) {
      return null;
    }
  }

  /** The widget's settings from the script tag's data-* attributes, checked. */
  function readConfig(data) {
    var languages = String(data.languages || "de,en").toLowerCase().split(/[\s,]+/)
      .filter(function (code, i, all) { return /^[a-z]{2,3}$/.test(code) && all.indexOf(code) === i; });
    if (!languages.length) { languages = ["de", "en"]; }
    var config = {
      municipality: String(data.municipality || "").trim().slice(0, 80),
      color: parseHex(data.color || "") ? data.color : DEFAULT_COLOR,
      languages: languages,
      contactUrl: configUrl(data.contactUrl),
      appointmentUrl: configUrl(data.appointmentUrl),
      privacyUrl: configUrl(data.privacyUrl),
      widgetId: /^[A-Za-z0-9._-]{1,64}$/.test(data.widgetId || "") ? data.widgetId : "",
      apiBase: new URL(".", scriptUrl()),
      linkOrigins: []
    };
    String(data.allowedLinkOrigins || "").split(/[\s,]+/).forEach(function (value) {
      var origin = value && originOf(value);
      if (origin) { config.linkOrigins.push(origin); }
    });
    [config.contactUrl, config.appointmentUrl, config.privacyUrl].forEach(function (url) {
      if (url) { config.linkOrigins.push(originOf(url)); }
    });
    return config;
  }

  /* ---- 2. UI strings ---------------------------------------------------------------------- */

  var STRINGS = {
    de: {
      launcher: "Fragen an die Stadt",
      launcherNamed: "Fragen an {name}",
      title: "Bürgerservice-Assistent",
      titleNamed: "Bürgerservice {name}",
      close: "Chat schließen",
      disclosureLead: "Sie chatten mit einem KI-Assistenten.",
      disclosure: "Die Antworten werden automatisch erstellt und können Fehler enthalten – maßgeblich sind die verlinkten Quellen.",
      privacy: "Bitte geben Sie keine persönlichen Daten ein. Ihr Verlauf bleibt nur in diesem Browser-Tab.",
      privacyLink: "Datenschutzhinweise",
      language: "Sprache",
      easy: "Leichte Sprache",
      welcome: "Guten Tag! Stellen Sie Ihre Frage zu Leistungen der Stadtverwaltung, zum Beispiel: „Wie melde ich meinen Wohnsitz um?“",
      log: "Gesprächsverlauf",
      you: "Sie:",
      assistant: "Assistent:",
      input: "Ihre Frage",
      placeholder: "Frage eingeben …",
      hint: "Eingabetaste sendet, Umschalt + Eingabetaste beginnt eine neue Zeile.",
      send: "Senden",
      human: "Mit einem Menschen sprechen",
      appointment: "Termin vereinbaren",
      newChat: "Neues Gespräch",
      newChatDone: "Neues Gespräch begonnen.",
      more: "Weitere Hilfe",
      typing: "Antwort wird geschrieben …",
      sources: "Quellen",
      source: "Quelle {n}: {title}",
      licence: "Lizenz: {licence}",
      query: "Abfrage auf {table}:",
      openData: "offene Daten",
      newTab: "(öffnet in neuem Tab)",
      offices: "Zuständige Stelle",
      hours: "Öffnungszeiten: {hours}",
      phone: "Telefon:",
      book: "Termin online buchen",
      bookAt: "Termin online buchen bei {name}",
      helpful: "War diese Antwort hilfreich?",
      up: "Hilfreich",
      down: "Nicht hilfreich",
      thanks: "Danke für Ihre Rückmeldung!",
      feedbackFailed: "Ihre Rückmeldung konnte nicht gesendet werden. Bitte versuchen Sie es später erneut.",
      answered: "Antwort: {text}",
      answeredSources: "{count} Quellen stehen unter der Antwort.",
      empty: "Bitte geben Sie zuerst eine Frage ein.",
      tooLong: "Ihre Frage ist zu lang. Bitte fassen Sie sie kürzer (höchstens {max} Zeichen).",
      busy: "Der Assistent ist gerade stark ausgelastet. Bitte versuchen Sie es in {seconds} Sekunden erneut.",
      busySoon: "Der Assistent ist gerade stark ausgelastet. Bitte versuchen Sie es in Kürze erneut.",
      network: "Der Assistent ist gerade nicht erreichbar. Bitte prüfen Sie Ihre Internetverbindung und versuchen Sie es erneut.",
      interrupted: "Die Antwort wurde unterbrochen. Bitte versuchen Sie es erneut.",
      generic: "Ihre Frage konnte gerade nicht beantwortet werden. Bitte versuchen Sie es später erneut.",
      reference: "Vorgangsnummer: {id}"
    },
    en: {
      launcher: "Ask the city",
      launcherNamed: "Ask {name}",
      title: "Citizen service assistant",
      titleNamed: "Citizen service {name}",
      close: "Close chat",
      disclosureLead: "You are chatting with an AI assistant.",
      disclosure: "Answers are generated automatically and may contain mistakes – the linked sources are authoritative.",
      privacy: "Please do not enter personal data. Your conversation stays in this browser tab only.",
      privacyLink: "Privacy notice",
      language: "Language",
      easy: "Easy-to-read German",
      welcome: "Hello! Ask your question about the services of the city administration, for example: “How do I register my new address?”",
      log: "Conversation",
      you: "You:",
      assistant: "Assistant:",
      input: "Your question",
      placeholder: "Type your question …",
      hint: "Enter sends, Shift + Enter starts a new line.",
      send: "Send",
      human: "Talk to a person",
      appointment: "Book an appointment",
      newChat: "New conversation",
      newChatDone: "New conversation started.",
      more: "More help",
      typing: "Writing the answer …",
      sources: "Sources",
      source: "Source {n}: {title}",
      licence: "Licence: {licence}",
      query: "Query on {table}:",
      openData: "open data",
      newTab: "(opens in a new tab)",
      offices: "Responsible office",
      hours: "Opening hours: {hours}",
      phone: "Phone:",
      book: "Book an appointment online",
      bookAt: "Book an appointment online at {name}",
      helpful: "Was this answer helpful?",
      up: "Helpful",
      down: "Not helpful",
      thanks: "Thank you for your feedback!",
      feedbackFailed: "Your feedback could not be sent. Please try again later.",
      answered: "Answer: {text}",
      answeredSources: "{count} sources are listed below the answer.",
      empty: "Please type a question first.",
      tooLong: "Your question is too long. Please keep it shorter (at most {max} characters).",
      busy: "The assistant is very busy right now. Please try again in {seconds} seconds.",
      busySoon: "The assistant is very busy right now. Please try again shortly.",
      network: "The assistant cannot be reached right now. Please check your internet connection and try again.",
      interrupted: "The answer was interrupted. Please try again.",
      generic: "Your question could not be answered right now. Please try again later.",
      reference: "Reference: {id}"
    }
  };

  /** Language names in their own language, for the switcher. */
  var ENDONYMS = {
    de: "Deutsch", en: "English", fr: "Français", es: "Español", it: "Italiano",
    tr: "Türkçe", pl: "Polski", uk: "Українська", ru: "Русский", ar: "العربية"
  };

  /** The UI strings for `language` (English for languages without their own strings). */
  function stringsFor(language) {
    return STRINGS[language] || STRINGS.en;
  }

  /** Fills `{name}` placeholders. */
  function format(text, values) {
    return text.replace(/\{(\w+)\}/g, function (all, key) {
      return values && values[key] != null ? String(values[key]) : all;
    });
  }

  /* ---- 3. Colours and contrast (WCAG 2.1 relative luminance) -------------------------------- */

  /** `#rgb` or `#rrggbb` → [r, g, b]; null for anything else. */
  function parseHex(value) {
    var m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(String(value).trim());
    if (!m) { return null; }
    var hex = m[1].length === 3 ? m[1].replace(/./g, "$&$&") : m[1];
    return [0, 2, 4].map(function (i) { return parseInt(hex.slice(i, i + 2), 16); });
  }

  function toHex(rgb) {
    return "#" + rgb.map(function (c) { return ("0" + Math.round(c).toString(16)).slice(-2); }).join("");
  }

  function luminance(rgb) {
    var c = rgb.map(function (v) {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }

  function contrast(a, b) {
    var la = luminance(a);
    var lb = luminance(b);
    return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
  }

  var WHITE = [255, 255, 255];
  var BLACK = [0, 0, 0];
  // The darkest light background links sit on (assistant bubbles).
  var BUBBLE = [241, 243, 245];

  /** Black or white, whichever contrasts more with `background` (always ≥ 4.58:1). */
  function textOn(background) {
    return contrast(background, WHITE) >= contrast(background, BLACK) ? WHITE : BLACK;
  }

  /** `color` darkened step by step until it reaches `ratio` against `background`. */
  function darkenFor(color, background, ratio) {
    for (var t = 0; t <= 1.0001; t += 0.05) {
      var mixed = color.map(function (c) { return c * (1 - t); });
      if (contrast(mixed, background) >= ratio) { return mixed; }
    }
    return BLACK;
  }

  /** The colour custom properties for a brand colour. */
  function palette(hex) {
    var brand = parseHex(hex) || parseHex(DEFAULT_COLOR);
    return {
      "--am-brand": toHex(brand),
      "--am-on-brand": toHex(textOn(brand)),
      "--am-accent": toHex(darkenFor(brand, BUBBLE, 4.5))
    };
  }

  /* ---- 4. DOM and link helpers ------------------------------------------------------------- */

  /**
   * Creates an element. `props`: `class`, `text` (set as textContent), `on<event>` handlers,
   * everything else as attributes (true → empty attribute; null/false → left out). Children
   * may be nodes or strings (strings become text nodes, never markup).
   */
  function h(tag, props, children) {
    var el = document.createElement(tag);
    Object.keys(props || {}).forEach(function (key) {
      var value = props[key];
      if (value == null || value === false) { return; }
      if (key === "class") { el.className = value; }
      else if (key === "text") { el.textContent = value; }
      else if (key.indexOf("on") === 0) { el.addEventListener(key.slice(2), value); }
      else { el.setAttribute(key, value === true ? "" : String(value)); }
    });
    [].concat(children || []).forEach(function (child) {
      if (child != null) { el.append(child); }
    });
    return el;
  }

  // The SVG namespace is a name, not a request; it is spelled in two parts so that the asset
  // check (no absolute URLs in the widget's files) stays simple.
  var SVG_NS = "http" + "://www.w3.org/2000/svg";
  var ICONS = {
    chat: ["M21 12a8 8 0 0 1-11.6 7.1L4 20l1-4.6A8 8 0 1 1 21 12z"],
    close: ["M6 6l12 12", "M18 6L6 18"],
    up: ["M7 11v9H4v-9h3z", "M7 11l4-7a2 2 0 0 1 3 2l-1 4h5a2 2 0 0 1 2 2.3l-1.2 6A2 2 0 0 1 16.8 20H7"],
    down: ["M7 13V4H4v9h3z", "M7 13l4 7a2 2 0 0 0 3-2l-1-4h5a2 2 0 0 0 2-2.3l-1.2-6A2 2 0 0 0 16.8 4H7"]
  };

  /** A decorative line icon (hidden from assistive technology). */
  function icon(name) {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("class", "icon");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    ICONS[name].forEach(function (d) {
      var path = document.createElementNS(SVG_NS, "path");
      path.setAttribute("d", d);
      svg.appendChild(path);
    });
    return svg;
  }

  /** An http(s) URL as a string, or null. */
  function webUrl(value) {
    if (typeof value !== "string") { return null; }
    try {
      var url = new URL(value);
      return (url.protocol === "https:" || url.protocol === "http:") ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  /** A link that opens in a new tab and tells screen reader users so. */
  function externalLink(href, text, t, props) {
    var attrs = Object.assign({ href: href, target: "_blank", rel: "noopener noreferrer" }, props || {});
    return h("a", attrs, [text, h("span", { class: "sr-only", text: " " + t.newTab })]);
  }

  /* ---- 5. Server-Sent Events over fetch ----------------------------------------------------- */

  /**
   * Splits `buffer` into complete events (`event:` name + `data:` lines, blank-line separated)
   * and calls `onEvent(name, json)` for each; returns the unfinished rest. Comments (keep-alive
   * lines starting with `:`) and events whose data is not JSON are skipped.
   */
  function parseEvents(buffer, onEvent) {
    buffer = buffer.replace(/\r\n?/g, "\n");
    var end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      var block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      var name = "message";
      var data = [];
      block.split("\n").forEach(function (line) {
        if (!line || line.charAt(0) === ":") { return; }
        var colon = line.indexOf(":");
        var field = colon < 0 ? line : line.slice(0, colon);
        var value = colon < 0 ? "" : line.slice(colon + 1);
        if (value.charAt(0) === " ") { value = value.slice(1); }
        if (field === "event") { name = value; } else if (field === "data") { data.push(value); }
      });
      if (!data.length) { continue; }
      var payload;
      try { payload = JSON.parse(data.join("\n")); } catch (e) { continue; }
      onEvent(name, payload);
    }
    return buffer;
  }

  /** Reads an event-stream response to its end (or until `isDone()`), event by event. */
  function readEvents(response, onEvent, isDone) {
    if (!response.body || !response.body.getReader || typeof TextDecoder === "undefined") {
      return response.text().then(function (text) { parseEvents(text + "\n\n", onEvent); });
    }
    var reader = response.body.getReader();
    var decoder = new TextDecoder("utf-8");
    var buffer = "";
    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) {
          parseEvents(buffer + decoder.decode() + "\n\n", onEvent);
          return undefined;
        }
        buffer = parseEvents(buffer + decoder.decode(chunk.value, { stream: true }), onEvent);
        if (isDone()) { return reader.cancel().catch(function () {}); }
        return pump();
      });
    }
    return pump();
  }

  /* ---- 6. Conversation store (this tab only) ------------------------------------------------ */

  /** Keeps the conversation in sessionStorage, so it survives page changes within the tab. */
  function Store(widgetId) {
    this.key = "allmende-chat:" + (widgetId || "default");
  }
  Store.prototype.load = function () {
    try {
      var state = JSON.parse(window.sessionStorage.getItem(this.key) || "null");
      return state && Array.isArray(state.messages) ? state : null;
    } catch (e) {
      return null; // storage disabled or unreadable: start fresh
    }
  };
  Store.prototype.save = function (state) {
    try {
      state.messages = state.messages.slice(-MAX_STORED_MESSAGES);
      window.sessionStorage.setItem(this.key, JSON.stringify(state));
    } catch (e) {
      // Storage full or disabled: the conversation still works, it just is not kept.
    }
  };

  /* ---- 7. Answer rendering (text nodes only) ------------------------------------------------ */

  // A citation marker "[3]" or an http(s) URL.
  var INLINE = /\[(\d{1,2})\]|\bhttps?:\/\/[^\s<>"'()[\]{}]+/g;

  /**
   * Appends `text` to `target` as text nodes, turning citation markers into links to the cited
   * URL and URLs into links when their origin is in `origins`; everything else stays text.
   */
  function renderAnswerText(target, text, citations, origins, t) {
    var last = 0;
    var match;
    INLINE.lastIndex = 0;
    while ((match = INLINE.exec(text)) !== null) {
      var token = match[0];
      var trailing = "";
      if (!match[1]) {
        // A URL at the end of a sentence keeps its full stop outside the link.
        var cut = /[.,;:!?]+$/.exec(token);
        if (cut) { trailing = cut[0]; token = token.slice(0, -trailing.length); }
      }
      target.append(text.slice(last, match.index));
      target.append(inlineNode(token, match[1], citations, origins, t));
      if (trailing) { target.append(trailing); }
      last = match.index + match[0].length;
    }
    target.append(text.slice(last));
  }

  function inlineNode(token, number, citations, origins, t) {
    if (number) {
      var citation = citations.filter(function (c) { return c.number === Number(number); })[0];
      var href = citation && webUrl(citation.url);
      if (!href) { return token; }
      return h("a", {
        class: "cite",
        href: href,
        target: "_blank",
        rel: "noopener noreferrer",
        "aria-label": format(t.source, { n: number, title: citation.title || href }) + " " + t.newTab
      }, token);
    }
    var url = webUrl(token);
    if (url && origins.indexOf(new URL(url).origin) >= 0) {
      return externalLink(url, token, t);
    }
    return token;
  }

  /** The numbered source list with titles, licences and attributions. */
  function renderSources(citations, t) {
    var list = h("ol", { class: "sources" });
    citations.forEach(function (c) {
      var href = webUrl(c.url);
      var title = String(c.title || c.url || "");
      var item = h("li", { value: c.number > 0 ? c.number : null }, [
        href ? externalLink(href, title, t) : h("span", { text: title })
      ]);
      if (c.sql) {
        item.append(h("span", { class: "licence", text: format(t.query, { table: c.table || t.openData }) }),
          h("code", { class: "sql", text: String(c.sql) }));
      }
      var licence = format(t.licence, { licence: String(c.licence || "–") });
      item.append(h("span", { class: "licence", text: c.attribution ? licence + " · " + c.attribution : licence }));
      list.append(item);
    });
    return [h("h3", { text: t.sources }), list];
  }

  /** Cards of the offices responsible for the cited services. */
  function renderOffices(offices, t) {
    var list = h("ul", { class: "offices" });
    offices.forEach(function (office) {
      var card = h("li", { class: "office" }, [h("p", { class: "office-name", text: String(office.name || "") })]);
      if (office.address) { card.append(h("p", { text: String(office.address) })); }
      if (office.opening_hours) {
        card.append(h("p", { text: format(t.hours, { hours: office.opening_hours }) }));
      }
      var phone = typeof office.phone === "string" ? office.phone.trim() : "";
      var dial = phone.replace(/[^\d+]/g, "");
      if (phone && dial.length >= 4) {
        card.append(h("p", null, [t.phone + " ", h("a", { href: "tel:" + dial, text: phone })]));
      }
      var booking = webUrl(office.appointment_url);
      if (booking) {
        card.append(h("p", null, externalLink(booking, t.book, t, {
          class: "button-link",
          "aria-label": format(t.bookAt, { name: office.name || "" }) + " " + t.newTab
        })));
      }
      list.append(card);
    });
    return [h("h3", { text: t.offices }), list];
  }

  /** The answer text as a screen reader should hear it once: without citation markers. */
  function spoken(text) {
    return String(text).replace(/\s*\[\d{1,2}\]/g, "").replace(/\s+/g, " ").trim();
  }

  /* ---- 8. The <allmende-chat> element -------------------------------------------------------- */

  class AllmendeChat extends HTMLElement {
    constructor() {
      super();
      this.config = null;
      this.busy = false;
      this.request = null; // AbortController of the answer being written
      this.announceTimer = 0;
    }

    connectedCallback() {
      if (this.shadowRoot) { return; }
      this.config = this.config || CONFIG;
      this.store = new Store(this.config.widgetId);
      var saved = this.store.load();
      var languages = this.config.languages;
      this.state = {
        open: !!(saved && saved.open),
        language: saved && languages.indexOf(saved.language) >= 0 ? saved.language : languages[0],
        easy: !!(saved && saved.easy),
        messages: saved ? saved.messages.filter(function (m) { return m && typeof m.text === "string"; }) : []
      };
      this.build();
      this.applyStrings();
      this.renderLog();
      if (this.state.open) { this.open(false); }
    }

    /** The UI strings of the current language. */
    get t() {
      return stringsFor(this.state.language);
    }

    // -- Building ----------------------------------------------------------------------------

    build() {
      var root = this.attachShadow({ mode: "open" });
      this.applyStyles(root);
      var colours = palette(this.config.color);
      Object.keys(colours).forEach(function (name) { this.style.setProperty(name, colours[name]); }, this);

      var el = this.el = {};
      el.launcherLabel = h("span");
      el.launcher = h("button", {
        type: "button",
        class: "launcher",
        "aria-expanded": "false",
        "aria-controls": "allmende-panel",
        onclick: () => this.open(true)
      }, [icon("chat"), el.launcherLabel]);

      el.title = h("h2", { id: "allmende-title", class: "title" });
      el.close = h("button", { type: "button", class: "icon-button", onclick: () => this.close() }, icon("close"));

      el.disclosureLead = h("strong");
      el.disclosure = h("span");
      el.privacy = h("span");
      el.privacyLink = this.config.privacyUrl
        ? h("a", { href: this.config.privacyUrl }) : null;

      el.languageLabel = h("span");
      el.language = h("select", { onchange: () => this.setLanguage(el.language.value) },
        this.config.languages.map(function (code) {
          return h("option", { value: code, lang: code, text: ENDONYMS[code] || code.toUpperCase() });
        }));
      el.easyLabel = h("span");
      el.easy = h("input", { type: "checkbox", onchange: () => { this.state.easy = el.easy.checked; this.save(); } });

      el.welcome = h("p", { class: "welcome" });
      el.log = h("ol", { class: "log" });
      // A scrolling region: focusable, so it can be scrolled with the keyboard.
      el.conversation = h("div", { class: "conversation", role: "region", tabindex: "0" }, [el.welcome, el.log]);

      el.inputLabel = h("label", { for: "allmende-input" });
      el.input = h("textarea", {
        id: "allmende-input",
        rows: "2",
        maxlength: String(MAX_QUESTION_CHARS),
        "aria-describedby": "allmende-hint",
        autocomplete: "off",
        onkeydown: (event) => {
          if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
            event.preventDefault();
            this.send();
          }
        }
      });
      el.send = h("button", { type: "submit", class: "send" });
      el.hint = h("p", { id: "allmende-hint", class: "sr-only" });
      el.form = h("form", {
        class: "composer",
        novalidate: true,
        onsubmit: (event) => { event.preventDefault(); this.send(); }
      }, [el.inputLabel, h("div", { class: "composer-row" }, [el.input, el.send]), el.hint]);

      el.human = this.config.contactUrl ? h("a", { href: this.config.contactUrl }) : null;
      el.appointment = this.config.appointmentUrl ? h("a", { href: this.config.appointmentUrl }) : null;
      el.newChat = h("button", { type: "button", class: "link-button", onclick: () => this.reset() });
      el.links = h("nav", { class: "links" }, [el.human, el.appointment, el.newChat]);

      el.status = h("div", { class: "sr-only", role: "status", "aria-live": "polite", "aria-atomic": "true" });

      el.panel = h("section", {
        id: "allmende-panel",
        class: "panel",
        role: "dialog",
        "aria-modal": "false",
        "aria-labelledby": "allmende-title",
        hidden: true,
        onkeydown: (event) => {
          if (event.key === "Escape" || event.key === "Esc") {
            event.preventDefault();
            this.close();
          }
        }
      }, [
        h("header", { class: "head" }, [el.title, el.close]),
        h("div", { class: "notice" }, [
          h("p", null, [el.disclosureLead, " ", el.disclosure]),
          h("p", null, [el.privacy, el.privacyLink ? " " : null, el.privacyLink])
        ]),
        el.conversation,
        el.form,
        h("div", { class: "foot" }, [
          h("div", { class: "settings" }, [
            h("label", null, [el.languageLabel, el.language]),
            h("label", null, [el.easy, el.easyLabel])
          ]),
          el.links
        ])
      ]);
      root.append(el.launcher, el.panel, el.status);
    }

    /** The widget's styles: a constructed stylesheet (allowed under strict CSPs), else a link. */
    applyStyles(root) {
      var inline = WIDGET_CSS.indexOf("__ALLMENDE") !== 0;
      if (inline && "adoptedStyleSheets" in root && typeof CSSStyleSheet === "function") {
        try {
          var sheet = new CSSStyleSheet();
          sheet.replaceSync(WIDGET_CSS);
          root.adoptedStyleSheets = [sheet];
          return;
        } catch (e) {
          // Older engines without constructable stylesheets: fall through.
        }
      }
      root.append(h("link", { rel: "stylesheet", href: new URL("widget.css", this.config.apiBase).href }));
    }

    /** Sets every UI string in the current language. */
    applyStrings() {
      var t = this.t;
      var el = this.el;
      var name = this.config.municipality;
      el.panel.setAttribute("lang", this.state.language);
      el.launcher.setAttribute("lang", this.state.language);
      el.launcherLabel.textContent = name ? format(t.launcherNamed, { name: name }) : t.launcher;
      el.title.textContent = name ? format(t.titleNamed, { name: name }) : t.title;
      el.close.setAttribute("aria-label", t.close);
      el.disclosureLead.textContent = t.disclosureLead;
      el.disclosure.textContent = t.disclosure;
      el.privacy.textContent = t.privacy;
      if (el.privacyLink) { el.privacyLink.textContent = t.privacyLink; }
      el.languageLabel.textContent = t.language;
      el.language.value = this.state.language;
      el.easyLabel.textContent = t.easy;
      el.easy.checked = this.state.easy;
      el.welcome.textContent = t.welcome;
      el.conversation.setAttribute("aria-label", t.log);
      el.inputLabel.textContent = t.input;
      el.input.setAttribute("placeholder", t.placeholder);
      el.send.textContent = t.send;
      el.hint.textContent = t.hint;
      if (el.human) { el.human.textContent = t.human; }
      if (el.appointment) { el.appointment.textContent = t.appointment; }
      el.newChat.textContent = t.newChat;
      el.links.setAttribute("aria-label", t.more);
    }

    // -- Opening, closing, settings ------------------------------------------------------------

    open(moveFocus) {
      this.el.panel.hidden = false;
      this.el.launcher.hidden = true;
      this.el.launcher.setAttribute("aria-expanded", "true");
      this.state.open = true;
      this.save();
      if (moveFocus) { this.el.input.focus(); }
    }

    close() {
      this.el.panel.hidden = true;
      this.el.launcher.hidden = false;
      this.el.launcher.setAttribute("aria-expanded", "false");
      this.state.open = false;
      this.save();
      this.el.launcher.focus();
    }

    setLanguage(code) {
      if (this.config.languages.indexOf(code) < 0) { return; }
      this.state.language = code;
      this.save();
      this.applyStrings();
      if (!this.busy) { this.renderLog(); }
    }

    /** Starts a new conversation: stops the answer being written and forgets the old one. */
    reset() {
      if (this.request) { this.request.abort(); }
      this.state.messages = [];
      this.save();
      this.renderLog();
      this.announce(this.t.newChatDone);
      this.el.input.focus();
    }

    save() {
      this.store.save(this.state);
    }

    /** Says `text` once through the polite live region. */
    announce(text) {
      // Emptied first and filled a moment later, so a repeated message is spoken again; a
      // newer message replaces one still waiting.
      var status = this.el.status;
      status.textContent = "";
      window.clearTimeout(this.announceTimer);
      this.announceTimer = window.setTimeout(function () { status.textContent = text; }, 60);
    }

    // -- The log -----------------------------------------------------------------------------

    /** Redraws the finished messages from the state (after a language switch or a reload). */
    renderLog() {
      var log = this.el.log;
      log.textContent = "";
      this.state.messages.forEach(function (message) {
        if (message.role === "user") {
          log.append(this.userBubble(message.text));
        } else {
          var bubble = this.assistantBubble();
          this.finishAnswer(bubble, message);
          log.append(bubble.item);
        }
      }, this);
      this.el.welcome.hidden = this.state.messages.length > 0;
    }

    userBubble(text) {
      return h("li", { class: "msg user" }, [h("span", { class: "sr-only", text: this.t.you + " " }), text]);
    }

    /** An empty assistant bubble: `item` (the list entry) and `text` (the answer paragraph). */
    assistantBubble() {
      var text = h("p", { class: "answer-text" });
      var item = h("li", { class: "msg assistant" }, [h("span", { class: "sr-only", text: this.t.assistant + " " }), text]);
      return { item: item, text: text };
    }

    /** Renders a finished answer (`message`: answer, citations, offices, request_id, …). */
    finishAnswer(bubble, message) {
      var t = this.t;
      var citations = Array.isArray(message.citations) ? message.citations : [];
      var offices = Array.isArray(message.offices) ? message.offices : [];
      var origins = this.config.linkOrigins.slice();
      citations.forEach(function (c) {
        var url = webUrl(c.url);
        if (url) { origins.push(new URL(url).origin); }
      });
      if (/^[a-z]{2,3}$/.test(message.language || "")) { bubble.item.setAttribute("lang", message.language); }
      bubble.text.textContent = "";
      renderAnswerText(bubble.text, message.text, citations, origins, t);
      var extra = h("div", { class: "extra" });
      if (citations.length) { extra.append.apply(extra, renderSources(citations, t)); }
      if (offices.length) { extra.append.apply(extra, renderOffices(offices, t)); }
      if (message.request_id) { extra.append(this.feedbackGroup(message)); }
      if (extra.childNodes.length) { bubble.item.append(extra); }
    }

    // -- Asking --------------------------------------------------------------------------------

    /** The headers of every API call. */
    headers(extra) {
      var headers = Object.assign({ "Content-Type": "application/json" }, extra || {});
      if (this.config.widgetId) { headers["X-Allmende-Widget"] = this.config.widgetId; }
      return headers;
    }

    api(path) {
      return new URL(path, this.config.apiBase).href;
    }

    /** Sends the question in the input and streams the answer into a new bubble. */
    send() {
      var el = this.el;
      if (this.busy) { return; }
      var message = el.input.value.trim();
      if (!message) {
        this.announce(this.t.empty);
        el.input.focus();
        return;
      }
      this.busy = true;
      el.send.setAttribute("aria-disabled", "true");
      el.input.value = "";
      el.welcome.hidden = true;
      this.state.messages.push({ role: "user", text: message });
      this.save();
      el.log.append(this.userBubble(message));
      var view = this.pendingAnswer();
      var body = { message: message, stream: true, language: this.state.language };
      if (this.state.easy) { body.style = "leichte_sprache"; }
      var controller = this.request = typeof AbortController === "function" ? new AbortController() : null;
      var self = this;
      fetch(this.api("api/chat"), {
        method: "POST",
        headers: this.headers({ "Accept": "text/event-stream" }),
        body: JSON.stringify(body),
        credentials: "omit",
        cache: "no-store",
        referrerPolicy: "no-referrer",
        signal: controller ? controller.signal : undefined
      }).then(function (response) {
        return self.receive(response, view);
      }).catch(function () {
        if (controller && controller.signal.aborted) { view.drop(); return; }
        // Cut off mid-answer, or never reached the node at all.
        view.fail(view.hasText() ? self.t.interrupted : self.t.network);
      }).then(function () {
        view.fail(self.t.interrupted); // no effect once the answer is finished
        self.busy = false;
        self.request = null;
        el.send.removeAttribute("aria-disabled");
      });
    }

    /** Handles the chat response: an event stream, or JSON (errors, servers without SSE). */
    receive(response, view) {
      var self = this;
      var type = response.headers.get("Content-Type") || "";
      if (response.ok && type.indexOf("text/event-stream") === 0) {
        return readEvents(response, function (name, payload) {
          if (name === "token") {
            view.append(payload && typeof payload.text === "string" ? payload.text : "");
          } else if (name === "done") {
            view.done(payload);
          } else if (name === "error") {
            view.fail(self.errorText(500, payload && payload.error, null));
          }
        }, view.isFinished);
      }
      return response.json().catch(function () { return null; }).then(function (body) {
        if (response.ok && body) {
          view.done(body);
        } else {
          view.fail(self.errorText(response.status, body && body.error, response.headers.get("Retry-After")));
        }
      });
    }

    /** A friendly message for a failed request; never server internals. */
    errorText(status, error, retryAfter) {
      var t = this.t;
      var code = error && error.code;
      if (status === 429 || code === "busy" || code === "rate_limited") {
        var seconds = parseInt(retryAfter, 10);
        return seconds > 0 && seconds <= 3600 ? format(t.busy, { seconds: seconds }) : t.busySoon;
      }
      if (status === 413 || code === "message_too_long") { return format(t.tooLong, { max: MAX_QUESTION_CHARS }); }
      if (code === "empty_message") { return t.empty; }
      var text = t.generic;
      var id = error && typeof error.request_id === "string" && /^[\w-]{1,64}$/.test(error.request_id) ? error.request_id : "";
      return id ? text + " " + format(t.reference, { id: id }) : text;
    }

    /**
     * A bubble for the answer being written: a typing indicator until the first token, the
     * streamed text (aria-busy, not announced piece by piece), then the final answer.
     */
    pendingAnswer() {
      var self = this;
      var t = this.t;
      var bubble = this.assistantBubble();
      var typing = h("span", { class: "typing" }, [
        h("span", { class: "dots", "aria-hidden": "true" }, [h("span"), h("span"), h("span")]),
        t.typing
      ]);
      var streamed = document.createTextNode("");
      bubble.item.setAttribute("aria-busy", "true");
      bubble.text.append(typing, streamed);
      this.el.log.append(bubble.item);
      this.scrollTo(bubble.item);
      this.announce(t.typing);
      var finished = false;

      function settle() {
        finished = true;
        typing.remove();
        bubble.item.removeAttribute("aria-busy");
        self.scrollTo(bubble.item);
      }

      return {
        isFinished: function () { return finished; },
        hasText: function () { return streamed.length > 0; },
        append: function (piece) {
          if (finished || !piece) { return; }
          if (typing.isConnected) { typing.remove(); }
          streamed.appendData(piece);
          self.scrollTo(bubble.item);
        },
        done: function (body) {
          if (finished) { return; }
          if (!body || typeof body.answer !== "string") { this.fail(t.generic); return; }
          var message = {
            role: "assistant",
            text: body.answer,
            citations: Array.isArray(body.citations) ? body.citations : [],
            offices: Array.isArray(body.offices) ? body.offices : [],
            language: typeof body.language === "string" ? body.language : null,
            request_id: typeof body.request_id === "string" ? body.request_id : null,
            feedback: null
          };
          settle();
          self.finishAnswer(bubble, message);
          self.state.messages.push(message);
          self.save();
          var said = format(t.answered, { text: spoken(message.text) });
          if (message.citations.length) {
            said += " " + format(t.answeredSources, { count: message.citations.length });
          }
          self.announce(said);
        },
        fail: function (text) {
          if (finished) { return; }
          settle();
          // The failed question is not kept: after a reload only answered questions show.
          var last = self.state.messages[self.state.messages.length - 1];
          if (last && last.role === "user") {
            self.state.messages.pop();
            self.save();
            if (!self.el.input.value) { self.el.input.value = last.text; } // ready to retry
          }
          bubble.item.classList.add("error");
          bubble.text.textContent = text;
          self.announce(text);
        },
        drop: function () {
          finished = true;
          bubble.item.remove();
        }
      };
    }

    /**
     * Scrolls the conversation (only it, never the page) so the end of `item` shows, but never
     * past its start: a long answer is read from its beginning.
     */
    scrollTo(item) {
      var box = this.el.conversation;
      var top = item.offsetTop - 8;
      var bottom = item.offsetTop + item.offsetHeight + 8 - box.clientHeight;
      box.scrollTop = Math.max(0, Math.min(top, bottom));
    }

    // -- Feedback --------------------------------------------------------------------------------

    /** Thumbs up/down for one answer → POST /api/feedback; a thank-you once it is stored. */
    feedbackGroup(message) {
      var t = this.t;
      var self = this;
      var labelId = "allmende-fb-" + message.request_id.replace(/[^\w-]/g, "");
      var group = h("div", { class: "feedback", role: "group", "aria-labelledby": labelId });
      if (message.feedback) {
        group.append(h("p", { class: "feedback-done", text: t.thanks }));
        return group;
      }
      var error = h("p", { class: "feedback-error", hidden: true });
      var buttons = ["up", "down"].map(function (rating) {
        return h("button", { type: "button", "data-rating": rating, onclick: function () { rate(rating); } },
          [icon(rating), t[rating]]);
      });

      function rate(rating) {
        if (buttons[0].getAttribute("aria-disabled")) { return; }
        buttons.forEach(function (b) { b.setAttribute("aria-disabled", "true"); });
        fetch(self.api("api/feedback"), {
          method: "POST",
          headers: self.headers(),
          body: JSON.stringify({ answer_id: message.request_id, rating: rating }),
          credentials: "omit",
          cache: "no-store",
          referrerPolicy: "no-referrer"
        }).then(function (response) {
          if (!response.ok) { throw new Error("feedback " + response.status); }
          message.feedback = rating;
          self.save();
          var thanks = h("p", { class: "feedback-done", tabindex: "-1", text: t.thanks });
          group.textContent = "";
          group.append(thanks);
          thanks.focus();
          self.announce(t.thanks);
        }).catch(function () {
          buttons.forEach(function (b) { b.removeAttribute("aria-disabled"); });
          error.textContent = t.feedbackFailed;
          error.hidden = false;
          self.announce(t.feedbackFailed);
        });
      }

      group.append.apply(group, [h("p", { id: labelId, class: "feedback-label", text: t.helpful })]
        .concat(buttons, [error]));
      return group;
    }
  }

  /* ---- 9. Mounting ---------------------------------------------------------------------------- */

  // Read before defining the element, so an <allmende-chat> already in the page gets it too.
  var CONFIG = readConfig(SCRIPT ? SCRIPT.dataset : {});
  customElements.define(TAG, AllmendeChat);

  function mount() {
    if (document.querySelector(TAG)) { return; }
    var widget = document.createElement(TAG);
    widget.config = CONFIG;
    document.body.appendChild(widget);
  }

  if (document.body) {
    mount();
  } else {
    document.addEventListener("DOMContentLoaded", mount);
  }
})();
