// The optional interactive map: loaded only when the city set PB_MAP_TILE_URL and Leaflet is installed
// (pb/static/vendor/fetch_leaflet.sh). It reads the projects from the list beside the server-drawn map, which
// stays the accessible equivalent; without this script the SVG map is shown instead.
(function () {
  "use strict";
  var figure = document.getElementById("map");
  if (!figure || !window.L || !figure.dataset.tiles) { return; }
  var items = document.querySelectorAll(".map-list li[data-latitude]");
  var holder = document.createElement("div");
  holder.className = "leaflet-map";
  holder.setAttribute("role", "region");
  holder.setAttribute("aria-label", figure.querySelector("svg").getAttribute("aria-label"));
  figure.insertBefore(holder, figure.firstChild);
  figure.querySelector("svg").classList.add("replaced");
  var map = L.map(holder, { scrollWheelZoom: false });
  L.tileLayer(figure.dataset.tiles, { attribution: figure.dataset.attribution || "", maxZoom: 19 }).addTo(map);
  var bounds = [];
  items.forEach(function (item) {
    var point = [parseFloat(item.dataset.latitude), parseFloat(item.dataset.longitude)];
    var link = item.querySelector("a");
    var marker = L.circleMarker(point, { radius: 9, color: "#ffffff", weight: 2, fillColor: "#8a1c1c", fillOpacity: 1 });
    marker.bindTooltip(item.dataset.number + ". " + link.textContent);
    marker.on("click", function () { window.location.href = link.href; });
    marker.addTo(map);
    bounds.push(point);
  });
  if (bounds.length) { map.fitBounds(bounds, { padding: [24, 24], maxZoom: 16 }); } else { map.setView([0, 0], 2); }
})();
