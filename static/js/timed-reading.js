// Timed reading pages (annotate, reader studies): keyboard answers and active reading time.
// Time counts only while the tab is visible, the page is not paused (data-paused on
// #workspace), and the user was active within the window (data-active-window seconds).
// The form marked data-timed gets the measured milliseconds in its active_ms field.
(function () {
  "use strict";
  let activeMs = 0;
  let lastTick = performance.now();
  let lastActivity = Date.now();
  let visible = document.visibilityState === "visible";
  let busy = false;
  let caseBefore = null;

  function workspace() { return document.getElementById("workspace"); }

  function counting() {
    const ws = workspace();
    if (!ws || !visible || ws.dataset.paused === "1") return false;
    const windowMs = Number(ws.dataset.activeWindow || 60) * 1000;
    return Date.now() - lastActivity <= windowMs;
  }

  function tick() {
    const now = performance.now();
    const dt = now - lastTick;
    lastTick = now;
    if (counting()) activeMs += dt;
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

  function timedForm(elt) { return elt && elt.matches && elt.matches("form[data-timed]"); }

  // Fill in the measured time just before the form is sent, with or without htmx.
  document.addEventListener("submit", function (event) {
    if (!timedForm(event.target)) return;
    if (busy) { event.preventDefault(); return; }
    tick();
    event.target.querySelector("input[name=active_ms]").value = String(Math.round(activeMs));
    busy = true;
  }, true);
  document.addEventListener("htmx:configRequest", function (event) {
    if (timedForm(event.detail.elt)) {
      tick();
      event.detail.parameters.active_ms = String(Math.round(activeMs));
    }
  });
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "workspace") tick();
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    const target = event.detail.target;
    if (!target || target.id !== "workspace") return;
    // outerHTML swaps: the event's target is the old element, so read the new one.
    const fresh = workspace();
    // A new case starts the clock again; a pause or resume of the same case does not.
    if (!fresh || fresh.dataset.case !== caseBefore) reset();
    busy = false;
  });
  document.addEventListener("htmx:beforeRequest", function () {
    const ws = workspace();
    caseBefore = ws ? ws.dataset.case : null;
  });
  document.addEventListener("htmx:responseError", function () { busy = false; });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select") return;
    const dialog = document.querySelector("dialog[open]");
    if (dialog) return; // Esc closes it natively
    const ws = workspace();
    if (!ws) return;
    const key = event.key.toLowerCase();
    let target = null;
    const focused = document.activeElement;
    if (key === "enter" && focused && focused !== document.body && ws.contains(focused) &&
        focused.matches("button, a")) {
      // A button the reader moved to (Tab, a click) answers with Enter, as any button does;
      // the suggestion is accepted only when nothing in the page has the focus.
      target = focused;
    } else if (key === "enter") {
      target = ws.querySelector("button[data-default]");
      if (!target) {
        const hint = ws.querySelector("#key-hint");
        if (hint) {
          hint.textContent = "There is no suggestion to accept on this report: answer " +
            "with a category's key.";
        }
        return;
      }
    } else {
      target = ws.querySelector('[data-key="' + CSS.escape(key) + '"]');
    }
    if (!target || target.disabled) return;
    event.preventDefault();
    if (busy && target.tagName === "BUTTON" && target.type === "submit") return;
    target.click();
  });
})();
