/* cloudwall report: sorting and filtering of the findings table, and printing with every
   detail open. Plain JavaScript, no network; without it the page is complete, just static. */
(function () {
  "use strict";

  function each(list, fn) { Array.prototype.forEach.call(list, fn); }

  // Printing: open every <details> for the printout, then restore what the reader had.
  var reopened = [];
  window.addEventListener("beforeprint", function () {
    reopened = [];
    each(document.querySelectorAll("details:not([open])"), function (d) {
      d.open = true;
      reopened.push(d);
    });
  });
  window.addEventListener("afterprint", function () {
    reopened.forEach(function (d) { d.open = false; });
    reopened = [];
  });

  var table = document.getElementById("findings-table");
  var form = document.getElementById("filters");
  if (!table || !form) { return; }
  var groups = Array.prototype.slice.call(table.tBodies);
  var text = document.getElementById("f-text");
  var severity = document.getElementById("f-severity");
  var cloud = document.getElementById("f-cloud");
  var account = document.getElementById("f-account");
  var policy = document.getElementById("f-policy");
  var count = document.getElementById("f-count");
  var none = document.getElementById("f-none");
  var expand = document.getElementById("f-expand");
  var haystacks = new Map();
  groups.forEach(function (g) { haystacks.set(g, g.textContent.toLowerCase()); });

  function policies(group) {
    var ids = [];
    each(group.querySelectorAll("[data-policy]"), function (el) { ids.push(el.dataset.policy); });
    return ids;
  }

  function matches(group) {
    var d = group.dataset;
    var words = text.value.toLowerCase().split(/\s+/).filter(Boolean);
    if (severity.value !== "" && Number(d.rank) < Number(severity.value)) { return false; }
    if (cloud.value !== "" && d.cloud !== cloud.value) { return false; }
    if (account.value !== "" && d.account !== account.value) { return false; }
    if (policy.value !== "" && policies(group).indexOf(policy.value) < 0) { return false; }
    var hay = haystacks.get(group);
    return words.every(function (w) { return hay.indexOf(w) >= 0; });
  }

  function apply() {
    var shown = 0;
    groups.forEach(function (g) {
      var ok = matches(g);
      g.hidden = !ok;
      if (ok) { shown += 1; }
    });
    count.textContent = shown === groups.length
      ? groups.length + " rows"
      : shown + " of " + groups.length + " rows";
    none.hidden = shown !== 0;
  }

  // Sorting: a button in each sortable header; a second click reverses the order.
  var buttons = [];
  function sortBy(th, button) {
    var key = th.dataset.sort;
    var numeric = th.dataset.type === "number";
    var current = th.getAttribute("aria-sort");
    // Numbers (severity, exposure, policies) read best largest first; names A to Z.
    var first = numeric ? "descending" : "ascending";
    var order = current === first ? (first === "ascending" ? "descending" : "ascending") : first;
    var sign = order === "ascending" ? 1 : -1;
    groups.sort(function (a, b) {
      var x = a.dataset[key], y = b.dataset[key], c;
      if (numeric) { c = Number(x) - Number(y); } else { c = x.localeCompare(y); }
      if (c === 0) { return Number(a.dataset.order) - Number(b.dataset.order); }
      return c * sign;
    });
    groups.forEach(function (g) { table.appendChild(g); });
    each(table.tHead.querySelectorAll("th[data-sort]"), function (other) {
      other.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", order);
    buttons.forEach(function (b) { b.dataset.dir = ""; });
    button.dataset.dir = order === "ascending" ? "up" : "down";
  }
  each(table.tHead.querySelectorAll("th[data-sort]"), function (th) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "sort";
    button.textContent = th.textContent;
    button.dataset.dir = th.getAttribute("aria-sort") === "descending" ? "down" : "";
    th.textContent = "";
    th.appendChild(button);
    buttons.push(button);
    button.addEventListener("click", function () { sortBy(th, button); });
  });

  var open = false;
  expand.addEventListener("click", function () {
    open = !open;
    each(table.querySelectorAll("details"), function (d) { d.open = open; });
    expand.textContent = open ? "Collapse all" : "Expand all";
  });
  form.addEventListener("submit", function (e) { e.preventDefault(); });
  form.addEventListener("input", apply);
  form.addEventListener("change", apply);
  form.addEventListener("reset", function () { window.setTimeout(apply, 0); });
  form.hidden = false;
  apply();
}());
