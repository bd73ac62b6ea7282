// Reader-study reading page: the page reports its own visibility, so the study clock stops
// only while the page is really hidden (another tab in front, a minimised window), and a
// second page of the same study makes this one step aside. The server counts a pause only
// from the reading page it served last (data-page on #workspace); see studies.services.
(function () {
  "use strict";
  const STALE_HTML =
    '<section class="card" id="stale-card"><h2>Open elsewhere</h2><p>This study is open ' +
    "in another tab or window, so this page shows no case and its clock is stopped. Read " +
    'there, or <a href="">reload this page</a> to read here.</p></section>';

  function workspace() { return document.getElementById("workspace"); }

  function csrfToken() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function reportHidden(ws) {
    // A beacon still leaves while the page is being hidden or closed.
    const form = new FormData();
    form.append("csrfmiddlewaretoken", csrfToken());
    form.append("action", "hidden");
    form.append("page", ws.dataset.page);
    if (!(navigator.sendBeacon && navigator.sendBeacon(ws.dataset.visibilityUrl, form))) {
      fetch(ws.dataset.visibilityUrl, { method: "POST", body: form, keepalive: true,
                                        credentials: "same-origin" });
    }
  }

  function reportVisible(ws) {
    // The answer is the workspace again: the same case, the paused card, or "open elsewhere".
    htmx.ajax("POST", ws.dataset.visibilityUrl, {
      target: "#workspace", swap: "outerHTML",
      values: { action: "visible", page: ws.dataset.page },
      headers: { "X-CSRFToken": csrfToken() },
    });
  }

  document.addEventListener("visibilitychange", function () {
    const ws = workspace();
    if (!ws || !ws.dataset.page) return;
    if (document.visibilityState === "hidden") reportHidden(ws);
    else reportVisible(ws);
  });

  function stepAside() {
    const ws = workspace();
    if (!ws) return;
    const fresh = document.createElement("div");
    fresh.id = "workspace";
    fresh.dataset.stale = "1";
    fresh.dataset.paused = "1";
    fresh.innerHTML = STALE_HTML;
    fresh.querySelector("a").href = window.location.pathname;
    ws.replaceWith(fresh);
  }

  // Tell the study's other pages in this browser that this one reads now.
  const first = workspace();
  if (first && first.dataset.page && window.BroadcastChannel) {
    const page = first.dataset.page;
    const channel = new BroadcastChannel("ctir-reading-" + first.dataset.study);
    channel.onmessage = function (event) {
      const ws = workspace();
      if (ws && ws.dataset.page === page && event.data !== page) stepAside();
    };
    channel.postMessage(page);
  }
})();
