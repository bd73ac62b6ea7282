// Annotate page: keyboard answers and active reading time.
// Time counts only while the tab is visible and the user was active within the project's
// window (data-active-window seconds); hidden-tab time is never counted.
(function () {
  "use strict";
  let activeMs = 0;
  let lastTick = performance.now();
  let lastActivity = Date.now();
  let visible = document.visibilityState === "visible";
  let busy = false;

  function windowMs() {
    const ws = document.getElementById("workspace");
    return ws ? Number(ws.dataset.activeWindow || 60) * 1000 : 60000;
  }

  function tick() {
    const now = performance.now();
    const dt = now - lastTick;
    lastTick = now;
    if (visible && Date.now() - lastActivity <= windowMs()) activeMs += dt;
  }

  function reset() {
    tick();
    activeMs = 0;
    lastActivity = Date.now();
    busy = false;
  }

  setInterval(tick, 200);
  document.addEventListener("visibilitychange", function () {
    tick(); // close the interval under the old state first
    visible = document.visibilityState === "visible";
    if (visible) lastActivity = Date.now();
  });
  ["keydown", "mousemove", "mousedown", "wheel", "scroll", "touchstart"].forEach(function (name) {
    window.addEventListener(name, function () { lastActivity = Date.now(); },
      { passive: true, capture: true });
  });

  // Fill in the measured time just before the form is sent, with or without htmx.
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form.id !== "annotate-form") return;
    if (busy) { event.preventDefault(); return; }
    tick();
    form.querySelector("input[name=active_ms]").value = String(Math.round(activeMs));
    busy = true;
  }, true);
  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.elt && event.detail.elt.id === "annotate-form") {
      event.detail.parameters.active_ms = String(Math.round(activeMs));
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "workspace") reset();
  });
  document.addEventListener("htmx:responseError", function () { busy = false; });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select") return;
    const dialog = document.getElementById("guideline");
    if (dialog && dialog.open) return; // Esc closes it natively
    const ws = document.getElementById("workspace");
    if (!ws) return;
    const key = event.key.toLowerCase();
    let target = null;
    if (key === "enter") {
      target = ws.querySelector("button.choice[data-default]");
    } else {
      target = ws.querySelector('[data-key="' + CSS.escape(key) + '"]');
    }
    if (!target) return;
    event.preventDefault();
    if (busy && target.tagName === "BUTTON" && target.type === "submit") return;
    target.click();
  });
})();
