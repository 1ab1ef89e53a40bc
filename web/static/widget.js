// Allmende chat widget. Plain JS, no dependencies, no cookies, no third-party requests.
// Model output is inserted as text only (never as HTML); source links must be http(s).
(function () {
  "use strict";
  var root = document.getElementById("allmende-chat");
  if (!root) { return; }
  var log = root.querySelector(".allmende-log");
  var form = root.querySelector(".allmende-form");
  var input = root.querySelector("textarea");
  var button = form.querySelector("button");

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
      item.appendChild(document.createTextNode(" (Lizenz: " + c.licence + (c.attribution ? ", " + c.attribution : "") + ")"));
      ol.appendChild(item);
    });
    li.appendChild(ol);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var message = input.value.trim();
    if (!message) { input.focus(); return; }
    add("user", message);
    input.value = "";
    button.disabled = true;
    var pending = add("assistant", "Einen Moment bitte …");
    fetch("/api/chat", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ message: message })
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (result) {
      if (!result.ok) {
        pending.className = "error";
        pending.textContent = (result.body && result.body.error && result.body.error.message) ||
          "Die Anfrage konnte nicht bearbeitet werden.";
        return;
      }
      pending.textContent = result.body.answer;
      renderSources(pending, result.body.citations);
    }).catch(function () {
      pending.className = "error";
      pending.textContent = "Der Assistent ist gerade nicht erreichbar. Bitte versuchen Sie es später erneut.";
    }).then(function () {
      button.disabled = false;
      input.focus();
    });
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
  });
})();
