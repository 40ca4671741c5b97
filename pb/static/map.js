// The optional interactive map: loaded only when the city set PB_MAP_TILE_URL and Leaflet is installed
// (pb/static/vendor/fetch_leaflet.sh). On the map pages it reads the projects from the list beside the
// server-drawn map, which stays the accessible equivalent; on the proposal form, selecting a place fills in the
// latitude and longitude fields, which work without it.
(function () {
  "use strict";
  if (!window.L) { return; }

  function tiles(holder, source) {
    var map = L.map(holder, { scrollWheelZoom: false });
    L.tileLayer(source.dataset.tiles, { attribution: source.dataset.attribution || "", maxZoom: 19 }).addTo(map);
    return map;
  }

  function projectsMap(figure) {
    var svg = figure.querySelector("svg");
    var holder = document.createElement("div");
    holder.className = "leaflet-map";
    holder.setAttribute("role", "region");
    holder.setAttribute("aria-label", svg ? svg.getAttribute("aria-label") : "");
    figure.insertBefore(holder, figure.firstChild);
    if (svg) { svg.classList.add("replaced"); }
    var map = tiles(holder, figure);
    var bounds = [];
    document.querySelectorAll(".map-list li[data-latitude]").forEach(function (item) {
      var point = [parseFloat(item.dataset.latitude), parseFloat(item.dataset.longitude)];
      var link = item.querySelector("a");
      var marker = L.circleMarker(point, { radius: 9, color: "#ffffff", weight: 2, fillColor: "#8a1c1c", fillOpacity: 1 });
      marker.bindTooltip(item.dataset.number + ". " + link.textContent);
      marker.on("click", function () { window.location.href = link.href; });
      marker.addTo(map);
      bounds.push(point);
    });
    if (bounds.length) { map.fitBounds(bounds, { padding: [24, 24], maxZoom: 16 }); } else { map.setView([0, 0], 2); }
  }

  function pointPicker(holder) {
    var latitude = document.getElementById("latitude");
    var longitude = document.getElementById("longitude");
    if (!latitude || !longitude) { return; }
    holder.classList.add("leaflet-map");
    holder.setAttribute("role", "region");
    holder.setAttribute("aria-label", holder.dataset.label || "");
    var map = tiles(holder, holder);
    var marker = null;
    function show(point) {
      if (marker) { marker.setLatLng(point); } else { marker = L.circleMarker(point, { radius: 9, color: "#8a1c1c" }).addTo(map); }
    }
    var start = [parseFloat(latitude.value.replace(",", ".")), parseFloat(longitude.value.replace(",", "."))];
    if (isFinite(start[0]) && isFinite(start[1])) { map.setView(start, 16); show(start); } else { map.setView([0, 0], 2); }
    map.on("click", function (event) {
      latitude.value = event.latlng.lat.toFixed(6);
      longitude.value = L.Util.wrapNum(event.latlng.lng, [-180, 180], true).toFixed(6);
      show(event.latlng);
    });
  }

  var figure = document.getElementById("map");
  if (figure && figure.dataset.tiles) { projectsMap(figure); }
  var picker = document.getElementById("point-picker");
  if (picker && picker.dataset.tiles) { pointPicker(picker); }
})();
