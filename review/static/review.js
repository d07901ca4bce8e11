// Conveniences and live updates. Every page still works without JavaScript: it only
// stops updating by itself. No inline script anywhere (CSP script-src 'self').
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Handing a conversation back makes the assistant talk again: ask first. (Delegated:
  // live updates replace the form.)
  document.addEventListener("submit", (event) => {
    if (event.target.id === "handback" && !window.confirm("Devolver a conversa ao assistente?")) {
      event.preventDefault();
    }
  });
  // Open the transcript at its end, where the latest messages are.
  const transcript = document.getElementById("transcript");
  if (transcript && !window.location.hash) {
    document.getElementById("bottom")?.scrollIntoView();
  }
  watchTyping();
  const stream = document.body.dataset.live;
  if (stream && window.EventSource) startLive(stream);
});

// --- live updates (server-sent events from /events) -------------------------------------

function startLive(base) {
  const conv = document.getElementById("conv");
  const ref = conv ? conv.dataset.ref : "";
  const source = new EventSource(ref ? `${base}?c=${encodeURIComponent(ref)}` : base);
  let timer = null;
  const refresh = () => {
    if (timer) return;
    // Several changes in a burst (a message, the replies, slots) become one reload.
    timer = window.setTimeout(() => { timer = null; reloadParts(); }, 300);
  };
  source.addEventListener("conversation", (event) => {
    const data = JSON.parse(event.data);
    if (document.getElementById("inbox") || (ref && data.ref === ref)) refresh();
  });
  source.addEventListener("handoff", (event) => showHandoff(JSON.parse(event.data)));
  source.addEventListener("logout", () => {
    source.close();
    window.location.assign("/login");
  });
}

// Fetches this page again and swaps in the parts that change, keeping what the operator
// is typing. The phone stays as shown: the reload never asks for the full number again.
async function reloadParts() {
  const url = new URL(window.location.href);
  url.searchParams.delete("phone");
  url.searchParams.delete("notice");
  url.searchParams.delete("error");
  url.hash = "";
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
  if (!response.ok) return;
  const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
  const transcript = document.getElementById("transcript");
  const atBottom = transcript && transcript.getBoundingClientRect().bottom <= window.innerHeight + 80;
  swap(fresh, "#inbox tbody");
  swap(fresh, "#inbox-count");
  swap(fresh, "#transcript");
  swap(fresh, "#lead-status");
  swap(fresh, "#review-status");
  swap(fresh, "#lead-fields");
  swap(fresh, "#slot-changes");
  const typing = document.querySelector("#human textarea");
  if (!typing || !typing.value) swap(fresh, "#human");
  if (transcript && atBottom) document.getElementById("bottom")?.scrollIntoView();
  document.body.dataset.liveUpdates = String(Number(document.body.dataset.liveUpdates || 0) + 1);
  watchTyping();
}

function swap(fresh, selector) {
  const current = document.querySelector(selector);
  const next = fresh.querySelector(selector);
  if (current && next) current.replaceWith(document.importNode(next, true));
}

function showHandoff(data) {
  const box = document.getElementById("live-alerts");
  if (!box) return;
  const alert = document.createElement("div");
  alert.className = "alert handoff";
  alert.setAttribute("role", "alert");
  const text = document.createElement("span");
  // textContent: a lead's name is text, never markup.
  text.textContent = `👤 ${data.name || "Um lead"} (${data.phone}) pediu atendimento humano. `;
  const link = document.createElement("a");
  link.href = data.url;
  link.textContent = "Abrir conversa";
  const close = document.createElement("button");
  close.type = "button";
  close.className = "link";
  close.textContent = "×";
  close.title = "fechar";
  close.addEventListener("click", () => alert.remove());
  alert.append(text, link, " ", close);
  box.prepend(alert);
}

// --- "digitando…" on the lead's WhatsApp while the operator writes -------------------------

let lastTyping = 0;

function watchTyping() {
  const form = document.getElementById("operator-send");
  if (!form || !form.dataset.typing || form.dataset.watched) return;
  form.dataset.watched = "1";
  const csrf = form.querySelector("input[name=csrf_token]").value;
  form.querySelector("textarea").addEventListener("input", () => {
    const now = Date.now();
    if (now - lastTyping < 3000) return;
    lastTyping = now;
    fetch(form.dataset.typing, { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf } })
      .catch(() => {});
  });
}
