// SPOC hub page behaviour. An ES module, like nhsuk-frontend's own script.
import { initAll } from "../vendor/nhsuk/nhsuk-frontend.min.js";

initAll();

// Idle timeout (DESIGN.md §10): warn before the server signs the user out, and let them stay
// signed in without reloading the page, so nothing typed into a form is lost.
function setUpIdleWarning() {
  const body = document.body;
  const timeout = Number(body.dataset.idleTimeout || 0);
  const warning = Number(body.dataset.idleWarning || 0);
  const dialog = document.getElementById("idle-warning");
  if (!timeout || !dialog) return;
  const countdown = dialog.querySelector("[data-idle-countdown]");
  let deadline = Date.now() + timeout * 1000;
  let ticker = null;

  function reset() {
    deadline = Date.now() + timeout * 1000;
    if (dialog.open) dialog.close();
  }

  function tick() {
    const left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    if (left <= 0) {
      window.location.assign(body.dataset.loginUrl + "?next=" + encodeURIComponent(window.location.pathname));
      return;
    }
    if (left <= warning) {
      const minutes = Math.floor(left / 60);
      const seconds = left % 60;
      countdown.textContent = minutes ? `${minutes} min ${seconds} s` : `${seconds} seconds`;
      if (!dialog.open) dialog.showModal();
    }
  }

  async function stay() {
    const token = JSON.parse(body.getAttribute("hx-headers") || "{}")["X-CSRFToken"];
    const response = await fetch(body.dataset.keepaliveUrl, {
      method: "POST",
      headers: { "X-CSRFToken": token },
      credentials: "same-origin",
    });
    if (response.ok) reset();
    else window.location.assign(body.dataset.loginUrl);
  }

  dialog.querySelector("[data-idle-stay]").addEventListener("click", stay);
  // Any htmx request that is not a queue poll counts as activity on the server too.
  document.body.addEventListener("htmx:afterRequest", (event) => {
    const headers = event.detail.requestConfig && event.detail.requestConfig.headers;
    if (!headers || headers["X-Spoc-Poll"] !== "1") reset();
  });
  ticker = window.setInterval(tick, 1000);
  return ticker;
}

setUpIdleWarning();
