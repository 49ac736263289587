// SPOC hub page behaviour. An ES module, like nhsuk-frontend's own script.
import { initAll } from "../vendor/nhsuk/nhsuk-frontend.min.js";

initAll();

// Idle timeout (docs/design.md §10): warn before the server signs the user out, and let them stay
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
      window.clearInterval(ticker);
      signOut();
      return;
    }
    if (left <= warning) {
      const minutes = Math.floor(left / 60);
      const seconds = left % 60;
      countdown.textContent = minutes ? `${minutes} min ${seconds} s` : `${seconds} seconds`;
      if (!dialog.open) dialog.showModal();
    }
  }

  // The server signs out only after the full timeout; sign out explicitly so the page never
  // lands back on a live session (and never shows patient data after the timeout).
  async function signOut() {
    const token = JSON.parse(body.getAttribute("hx-headers") || "{}")["X-CSRFToken"];
    try {
      await fetch(body.dataset.logoutUrl, { method: "POST", headers: { "X-CSRFToken": token }, credentials: "same-origin" });
    } finally {
      window.location.assign(body.dataset.loginUrl + "?next=" + encodeURIComponent(window.location.pathname));
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

// The call screen's timer: minutes and seconds since the call was opened.
function setUpCallTimers() {
  for (const timer of document.querySelectorAll("[data-call-timer]")) {
    const start = Date.parse(timer.dataset.callTimer);
    if (Number.isNaN(start)) continue;
    const tick = () => {
      const seconds = Math.max(0, Math.floor((Date.now() - start) / 1000));
      timer.textContent = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
    };
    tick();
    window.setInterval(tick, 1000);
  }
}

// Picking a patient from the call screen's search results swaps the patient panel in place,
// so nothing already typed into the call form is lost. The keyboard follows the swap: after a
// patient is picked, focus is on the banner's heading (the next Tab goes on to the caller); after
// "Change patient", on the search box. Enter in the search box searches at once; it never submits
// the half-typed call.
function setUpPatientPicker() {
  // At the swap; and again when it has settled if focus was lost meanwhile (a focused control
  // removed by the swap, the "Change patient" button, can leave focus on the page after us), but
  // never once the user has moved on.
  const panelFocus = (panel) => panel.querySelector("#patient-banner-heading") || panel.querySelector("#call-patient-q");
  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (event.target.id !== "patient-panel") return;
    const next = panelFocus(event.target);
    if (next) next.focus();
  });
  document.body.addEventListener("htmx:afterSettle", (event) => {
    if (event.target.id !== "patient-panel") return;
    const active = document.activeElement;
    const next = panelFocus(event.target);
    if (next && (!active || active === document.body)) next.focus();
  });
  document.body.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.target.id !== "call-patient-q") return;
    event.preventDefault();
    if (window.htmx) window.htmx.trigger(event.target, "search");
  });
  document.body.addEventListener("click", (event) => {
    const link = event.target.closest("[data-pick-patient-url] [data-patient-id] a");
    if (!link || !window.htmx) return;
    event.preventDefault();
    const container = link.closest("[data-pick-patient-url]");
    const row = link.closest("[data-patient-id]");
    window.htmx.ajax("GET", `${container.dataset.pickPatientUrl}?patient=${row.dataset.patientId}`, {
      target: "#patient-panel",
      // Settled at once: htmx wires the new panel's controls (its "Change patient" button) when
      // the swap settles, and a keyboard user may press that button straight after the focus lands.
      swap: "outerHTML settle:0ms",
    });
  });
}

// A restored draft ticks boxes without a click: show (or hide) each box's conditional reveal as
// nhsuk-frontend's checkboxes script would (the call screen's need notes).
function syncConditionalReveals(form) {
  for (const box of form.querySelectorAll('input[type="checkbox"][aria-controls]')) {
    const revealed = document.getElementById(box.getAttribute("aria-controls"));
    if (!revealed) continue;
    box.setAttribute("aria-expanded", String(box.checked));
    revealed.classList.toggle("nhsuk-checkboxes__conditional--hidden", !box.checked);
  }
}

// A form marked data-keep-draft keeps what was typed in this tab's session storage, so that an
// accidental reload or a sign-in after the idle timeout does not lose it. Cleared on submit.
function setUpDrafts() {
  for (const form of document.querySelectorAll("form[data-keep-draft]")) {
    const key = `draft:${form.dataset.keepDraft}`;
    const skip = new Set(["csrfmiddlewaretoken", "idempotency_key", "received_at"]);
    const save = () => {
      const values = {};
      for (const element of form.elements) {
        if (!element.name || skip.has(element.name)) continue;
        if (element.type === "checkbox" || element.type === "radio") {
          if (element.checked) (values[element.name] ||= []).push(element.value);
        } else if (element.type !== "hidden" || element.name === "patient") {
          values[element.name] = element.value;
        }
      }
      sessionStorage.setItem(key, JSON.stringify({ savedAt: Date.now(), values }));
    };
    const saved = sessionStorage.getItem(key);
    const hasErrors = document.querySelector(".nhsuk-error-summary");
    const patientNow = (form.elements.namedItem("patient") || {}).value || "";
    if (saved && !hasErrors) {
      const { savedAt, values } = JSON.parse(saved);
      // Never carry one patient's call into another's: restore only for the same patient.
      if ((values.patient || "") === patientNow) {
        for (const element of form.elements) {
          if (!element.name || skip.has(element.name) || !(element.name in values)) continue;
          if (element.type === "checkbox" || element.type === "radio") {
            element.checked = values[element.name].includes(element.value);
          } else if (element.type !== "hidden") {
            // Hidden fields (the chosen patient, the form's key) come from the server.
            element.value = values[element.name];
          }
        }
        syncConditionalReveals(form);
        const notice = document.createElement("div");
        notice.className = "nhsuk-inset-text";
        notice.setAttribute("role", "status");
        notice.dataset.testid = "draft-restored";
        const time = new Date(savedAt).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
        notice.innerHTML = `<p>Unsaved call from ${time} restored. <button type="button" class="nhsuk-button nhsuk-button--secondary nhsuk-button--small">Discard it</button></p>`;
        notice.querySelector("button").addEventListener("click", () => {
          sessionStorage.removeItem(key);
          window.location.reload();
        });
        form.prepend(notice);
      }
    }
    form.addEventListener("input", save);
    form.addEventListener("change", save);
    form.addEventListener("submit", () => sessionStorage.removeItem(key));
  }
  // Back after a save must never show the saved call again: a page the browser restores from its
  // back-forward cache, typed answers and all, is loaded afresh instead (the form itself has
  // autocomplete="off", so the browser does not refill it either).
  window.addEventListener("pageshow", (event) => {
    if (event.persisted && document.querySelector("form[data-keep-draft]")) window.location.reload();
  });
}

setUpCallTimers();
setUpPatientPicker();
setUpDrafts();
