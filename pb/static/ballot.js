// Keeps the ballot's live summary current for each design (money, projects chosen, points left, ranks); the page
// works without it, and the server re-checks everything on submit.
(function () {
  "use strict";
  var form = document.getElementById("ballot");
  if (!form) { return; }
  var design = form.dataset.design || "knapsack";
  var budget = parseInt(form.dataset.budget, 10);
  var minSpend = parseInt(form.dataset.minSpend, 10) || 0;
  var maxProjects = parseInt(form.dataset.maxProjects, 10) || 0;
  var points = parseInt(form.dataset.points, 10) || 0;
  var maxPoints = parseInt(form.dataset.maxPoints, 10) || 0;
  var currency = form.dataset.currency;
  var exponent = ["JPY", "KRW", "ISK", "CLP", "VND"].indexOf(currency) >= 0 ? 0 : 2;
  // The page's own number symbols (12,500.50 / 12.500,50 / 12 500,50), so the total reads like every other amount.
  var group = form.dataset.group === undefined ? "," : form.dataset.group;
  var decimal = form.dataset.decimal || ".";
  function format(minor) {
    var sign = minor < 0 ? "-" : "";
    var value = Math.abs(minor);
    var major = Math.floor(value / Math.pow(10, exponent));
    var fraction = value % Math.pow(10, exponent);
    var text = sign + major.toString().replace(/\B(?=(\d{3})+(?!\d))/g, group);
    if (exponent && fraction) { text += decimal + String(fraction).padStart(exponent, "0"); }
    return text + " " + currency;
  }
  function find(selector) { return form.querySelector(selector); }
  function show(selector, isShown) {
    var element = find(selector);
    if (element) { element.hidden = !isShown; }
  }
  function setText(selector, text) {
    var element = find(selector);
    if (element && element.textContent !== String(text)) { element.textContent = text; }
  }
  // A field's value as a whole number; what is not one counts as nothing here (the server names it on submit).
  function whole(field) {
    var text = field.value.trim();
    return /^\d+$/.test(text) ? parseInt(text, 10) : 0;
  }

  function updateChoices() {
    var boxes = form.querySelectorAll("input[name=project]");
    var total = 0;
    var count = 0;
    boxes.forEach(function (box) {
      if (box.checked) { total += parseInt(box.dataset.cost, 10); count += 1; }
    });
    setText("[data-count]", count);
    show("[data-over-max]", maxProjects > 0 && count > maxProjects);
    var meter = find("[data-meter]");
    if (design === "approval") {
      if (meter) { meter.value = Math.min(count, maxProjects); }
      return;
    }
    setText("[data-total]", format(total));
    setText("[data-left]", format(budget - total));
    show("[data-over]", total > budget);
    show("[data-under]", count > 0 && total < minSpend);
    if (meter) { meter.value = Math.min(total, budget); }
    boxes.forEach(function (box) {
      var wouldExceed = !box.checked && total + parseInt(box.dataset.cost, 10) > budget;
      box.closest("li").classList.toggle("too-expensive", wouldExceed);
    });
  }

  function updatePoints() {
    var given = 0;
    var count = 0;
    var overCap = false;
    form.querySelectorAll("input[name^='points-']").forEach(function (field) {
      var value = whole(field);
      given += value;
      if (value > 0) { count += 1; }
      if (maxPoints && value > maxPoints) { overCap = true; }
    });
    setText("[data-left]", points - given);
    show("[data-over]", given > points);
    show("[data-over-cap]", overCap);
    show("[data-over-max]", maxProjects > 0 && count > maxProjects);
    var meter = find("[data-meter]");
    if (meter) { meter.value = Math.min(given, points); }
  }

  function updateRanks() {
    var order = find("[data-order]");
    var ranked = [];
    var seen = {};
    var repeated = false;
    form.querySelectorAll("select[name^='rank-']").forEach(function (field) {
      var rank = whole(field);
      if (rank > 0) {
        if (seen[rank]) { repeated = true; }
        seen[rank] = true;
        // The line as the server writes it ("1st: Park benches"), with the rank in the page's words.
        var words = field.options[field.selectedIndex].text.trim();
        var line = (order.dataset.line || "{rank}: {title}")
          .replace("{rank}", function () { return words; })
          .replace("{title}", function () { return field.dataset.title; });
        ranked.push({rank: rank, title: line});
      }
      field.closest("li").classList.toggle("ranked", rank > 0);
    });
    ranked.sort(function (a, b) { return a.rank - b.rank; });
    setText("[data-count]", ranked.length);
    show("[data-repeated]", repeated);
    show("[data-order-title]", ranked.length > 0);
    var shown = ranked.map(function (item) { return item.title; }).join("\n");
    var current = Array.prototype.map.call(order.children, function (item) { return item.textContent; }).join("\n");
    if (shown !== current) {  // rebuilt only when it changed, so a screen reader hears each change once
      order.textContent = "";
      ranked.forEach(function (item) {
        var line = document.createElement("li");
        line.textContent = item.title;
        order.appendChild(line);
      });
    }
  }

  var updates = {knapsack: updateChoices, approval: updateChoices, cumulative: updatePoints, ranking: updateRanks};
  var update = updates[design] || updateChoices;
  form.addEventListener("change", update);
  form.addEventListener("input", update);
  update();
}());
