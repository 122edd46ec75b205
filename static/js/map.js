/* The offices map (templates/directory/_map.html): an enhancement of the list beside it.
 *
 * Reads the markers from the #map-data JSON block and draws them with the vendored Leaflet.
 * Without this script, or without Leaflet, the panel stays hidden and the page is the list alone.
 * Tiles are optional (MAP_TILE_URL): without them, or when they cannot be reached, the markers
 * stand on a plain background. Phones see the map collapsed above the results; wide screens beside.
 */
(function () {
  "use strict";

  const panel = document.querySelector("[data-map-panel]");
  const source = document.getElementById("map-data");
  if (!panel || !source || !window.L) {
    return;
  }
  const data = JSON.parse(source.textContent);
  const details = panel.querySelector("details");
  const container = panel.querySelector(".map");
  const wide = window.matchMedia("(min-width: 60rem)");
  // Tiles that fail before any has loaded: past this many, the server is taken as unreachable.
  const FAILED_TILES_BEFORE_GIVING_UP = 4;
  let map = null;

  function place(office) {
    return office.city + ", " + office.state;
  }

  function officeLine(office) {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = office.url;
    link.textContent = office.name;
    item.append(link, office.credentials ? ", " + office.credentials : "");
    const where = document.createElement("span");
    where.className = "map-popup-address";
    where.textContent = [office.label, office.address, place(office)].filter(Boolean).join(", ");
    item.append(where);
    return item;
  }

  // Offices geocoded to the same point (a ZIP centroid) share one spot: each of their markers lists them all.
  function popupFor(offices) {
    const list = document.createElement("ul");
    list.className = "map-popup";
    offices.forEach((office) => list.append(officeLine(office)));
    return list;
  }

  function addTiles() {
    const tiles = L.tileLayer(data.tiles.url, {
      attribution: data.tiles.attribution,
      maxZoom: 18,
      // The tile server learns this site's origin (some providers require it), never the page's query.
      referrerPolicy: "strict-origin",
    });
    let loaded = 0;
    let failed = 0;
    tiles.on("tileload", () => {
      loaded += 1;
    });
    tiles.on("tileerror", () => {
      failed += 1;
      if (!loaded && failed >= FAILED_TILES_BEFORE_GIVING_UP) {
        map.removeLayer(tiles);
      }
    });
    tiles.addTo(map);
  }

  function keepFocusWithPopups(marker) {
    marker.on("popupopen", (event) => {
      const element = event.popup.getElement();
      const link = element.querySelector(".map-popup a");
      if (link) {
        link.focus({ preventScroll: true });
      }
      element.onkeydown = (keyEvent) => {
        if (keyEvent.key === "Escape") {
          marker.closePopup();
          marker.getElement().focus({ preventScroll: true });
        }
      };
    });
  }

  // The popup keeps clear of the zoom buttons and the credit, and a long list (many offices in one ZIP)
  // scrolls inside it rather than over the whole map.
  function popupOptions() {
    return {
      maxWidth: Math.min(300, container.clientWidth - 90),
      maxHeight: Math.max(120, container.clientHeight - 110),
      autoPanPaddingTopLeft: [56, 12],
      autoPanPaddingBottomRight: [12, 36],
    };
  }

  function draw() {
    map = L.map(container, { scrollWheelZoom: false, zoomSnap: 0.5 });
    if (data.tiles) {
      addTiles();
    }
    L.control.scale({ imperial: true, metric: false }).addTo(map);
    const icon = L.icon({
      iconUrl: data.icon.url,
      iconRetinaUrl: data.icon.retina_url,
      shadowUrl: data.icon.shadow_url,
      iconSize: [25, 41],
      iconAnchor: [12, 41],
      popupAnchor: [1, -34],
      shadowSize: [41, 41],
    });
    const atPoint = new Map();
    data.markers.forEach((office) => {
      const key = office.latitude + "," + office.longitude;
      atPoint.set(key, [...(atPoint.get(key) || []), office]);
    });
    const points = data.markers.map((office) => {
      const name = office.name + ", " + place(office);
      const point = [office.latitude, office.longitude];
      const marker = L.marker(point, { icon: icon, title: name, alt: name });
      marker.bindPopup(popupFor(atPoint.get(office.latitude + "," + office.longitude)), popupOptions());
      keepFocusWithPopups(marker);
      marker.addTo(map);
      return point;
    });
    map.fitBounds(points, { padding: [32, 32], maxZoom: 13 });
  }

  function showWhenOpen() {
    if (!details.open) {
      return;
    }
    if (map) {
      map.invalidateSize();
    } else {
      draw();
    }
  }

  panel.hidden = false;
  details.open = wide.matches;
  details.addEventListener("toggle", showWhenOpen);
  wide.addEventListener("change", (event) => {
    if (event.matches) {
      details.open = true;
    }
    showWhenOpen();
  });
  showWhenOpen();
})();
