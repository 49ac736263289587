// Call screen, needs: each need's priority and reason show only while the need is ticked.
// Without this script every need shows them, and an unticked need's values are ignored.
function showTickedNeedPriorities() {
  for (const row of document.querySelectorAll(".hub-need[data-need]")) {
    const box = row.querySelector('input[type="checkbox"][name="needs"]');
    const priority = row.querySelector("[data-need-priority]");
    if (!box || !priority) continue;
    const update = () => {
      priority.hidden = !box.checked;
    };
    box.addEventListener("change", update);
    update();
  }
}

showTickedNeedPriorities();
