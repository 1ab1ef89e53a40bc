// Allmende chat widget. Plain JS, no dependencies, no cookies, no third-party requests.
// Model output is inserted as text only (never as HTML); source links must be http(s).
// Answers arrive as Server-Sent Events over fetch: "token" events are appended live, the one
// "done" event carries the authoritative answer and its sources, "error" a message to show.
(function () {
  "use strict";
  var root = document.getElementById("allmende-chat");
  if (!root) { return; }
  var log = root.querySelector(".allmende-log");
  var form = root.querySelector(".allmende-form");
  var input = root.querySelector("textarea");
  var button = form.querySelector("button");

  var GENERIC_ERROR = "Die Anfrage konnte nicht bearbeitet werden.";
  var UNREACHABLE = "Der Assistent ist gerade nicht erreichbar. Bitte versuchen Sie es später erneut.";
  var INTERRUPTED = "Die Antwort wurde unterbrochen. Bitte versuchen Sie es erneut.";

  function add(role, text) {
    var li = document.createElement("li");
    li.className = role;
    li.textContent = text;
    log.appendChild(li);
    li.scrollIntoView({ block: "nearest" });
    return li;
  }

  function safeUrl(url) {
    try {
      var u = new URL(url, window.location.href);
      return (u.protocol === "https:" || u.protocol === "http:") ? u.href : null;
    } catch (e) { return null; }
  }

  function renderSources(li, citations) {
    if (!citations || !citations.length) { return; }
    var ol = document.createElement("ol");
    ol.className = "allmende-sources";
    ol.setAttribute("aria-label", "Quellen");
    citations.forEach(function (c) {
      var item = document.createElement("li");
      item.value = c.number;
      var href = safeUrl(c.url);
      var title = document.createElement(href ? "a" : "span");
      if (href) { title.href = href; title.rel = "noopener noreferrer"; title.target = "_blank"; }
      title.textContent = c.title;
      item.appendChild(title);
      if (c.sql) {
        // A number from an open-data table: show the query so readers can check it.
        var query = document.createElement("code");
        query.className = "allmende-sql";
        query.textContent = c.sql;
        item.appendChild(document.createTextNode(" – Abfrage auf " + (c.table || "offene Daten") + ": "));
        item.appendChild(query);
      }
      item.appendChild(document.createTextNode(" (Lizenz: " + c.licence + (c.attribution ? ", " + c.attribution : "") + ")"));
      ol.appendChild(item);
    });
    li.appendChild(ol);
  }

  // The bubble of an answer being written: a typing indicator until the first token, and the
  // streamed text in an aria-busy element so the live log announces the finished answer once.
  function pendingAnswer() {
    var li = add("assistant", "");
    var typing = document.createElement("span");
    typing.className = "allmende-typing";
    typing.textContent = "Antwort wird geschrieben …";
    var text = document.createElement("span");
    text.className = "allmende-answer";
    text.setAttribute("aria-busy", "true");
    li.appendChild(typing);
    li.appendChild(text);
    var finished = false;

    function stopTyping() {
      if (typing.parentNode) { typing.parentNode.removeChild(typing); }
    }

    return {
      append: function (piece) {
        if (finished || !piece) { return; }
        stopTyping();
        text.textContent += piece;
        li.scrollIntoView({ block: "nearest" });
      },
      done: function (body) {
        if (finished) { return; }
        finished = true;
        stopTyping();
        text.textContent = (body && typeof body.answer === "string") ? body.answer : "";
        renderSources(li, body && body.citations);
        text.setAttribute("aria-busy", "false");
        li.scrollIntoView({ block: "nearest" });
      },
      fail: function (message) {
        if (finished) { return; }
        finished = true;
        stopTyping();
        li.className = "error";
        text.textContent = message || GENERIC_ERROR;
        text.setAttribute("aria-busy", "false");
        li.scrollIntoView({ block: "nearest" });
      },
      isFinished: function () { return finished; }
    };
  }

  function errorMessage(body) {
    return (body && body.error && body.error.message) || GENERIC_ERROR;
  }

  // Splits a Server-Sent Events text into events; returns the unfinished rest.
  function parseEvents(buffer, onEvent) {
    buffer = buffer.replace(/\r\n/g, "\n");
    var end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      var block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      var name = "message";
      var data = [];
      block.split("\n").forEach(function (line) {
        if (!line || line.charAt(0) === ":") { return; } // keep-alive comments
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

  function handleEvent(answer, name, payload) {
    if (name === "token") {
      answer.append(payload && typeof payload.text === "string" ? payload.text : "");
    } else if (name === "done") {
      answer.done(payload);
    } else if (name === "error") {
      answer.fail(errorMessage(payload));
    }
  }

  function readStream(response, answer) {
    var onEvent = function (name, payload) { handleEvent(answer, name, payload); };
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
          return;
        }
        buffer = parseEvents(buffer + decoder.decode(chunk.value, { stream: true }), onEvent);
        if (answer.isFinished()) { return reader.cancel().catch(function () {}); }
        return pump();
      });
    }
    return pump();
  }

  // The request body: the question plus the language and Leichte Sprache choices, if set.
  function chatRequest(message) {
    var body = { message: message, stream: true };
    var language = document.getElementById("allmende-language");
    var easy = document.getElementById("allmende-easy");
    if (language && language.value) { body.language = language.value; }
    if (easy && easy.checked) { body.style = "leichte_sprache"; }
    return body;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var message = input.value.trim();
    if (!message) { input.focus(); return; }
    add("user", message);
    input.value = "";
    button.disabled = true;
    var answer = pendingAnswer();
    fetch("/api/chat", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "text/event-stream" },
      body: JSON.stringify(chatRequest(message))
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (response.ok && type.indexOf("text/event-stream") === 0) {
        return readStream(response, answer);
      }
      // Validation errors (and servers without streaming) answer with plain JSON.
      return response.json().then(function (body) {
        if (response.ok) { answer.done(body); } else { answer.fail(errorMessage(body)); }
      }, function () { answer.fail(GENERIC_ERROR); });
    }).then(function () {
      answer.fail(INTERRUPTED); // no effect when the answer is already finished
    }, function () {
      answer.fail(UNREACHABLE);
    }).then(function () {
      button.disabled = false;
      input.focus();
    });
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
  });
})();
