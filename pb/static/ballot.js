// Keeps the ballot's running total and money left up to date; the server re-checks everything on submit.
(function () {
  "use strict";
  var form = document.getElementById("ballot");
  if (!form) { return; }
  var budget = parseInt(form.dataset.budget, 10);
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
  function update() {
    var total = 0;
    form.querySelectorAll("input[name=project]").forEach(function (box) {
      if (box.checked) { total += parseInt(box.dataset.cost, 10); }
    });
    form.querySelector("[data-total]").textContent = format(total);
    form.querySelector("[data-left]").textContent = format(budget - total);
    form.querySelector("[data-over]").hidden = total <= budget;
    var meter = form.querySelector("[data-meter]");
    if (meter) { meter.value = Math.min(total, budget); }
    form.querySelectorAll("input[name=project]").forEach(function (box) {
      var wouldExceed = !box.checked && total + parseInt(box.dataset.cost, 10) > budget;
      box.closest("li").classList.toggle("too-expensive", wouldExceed);
    });
  }
  form.addEventListener("change", update);
  update();
}());
