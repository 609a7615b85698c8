// The Andaman coast: incidents, resources and facilities on Leaflet (window.L, from /vendor/leaflet).
// Tiles when they load; under them, always, the coast and islands from /vendor/coast.geojson, so the map
// still shows where things are when the centre's internet is down.
import { h } from "./dom.js";
import { colourName, t, word } from "./i18n.js";
import { placeName } from "./places.js";

const L = window.L;
const TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png";
const TILE_FAILURES_BEFORE_OFFLINE = 4;
const TRIAGE_FILL = { red: "#d7191c", yellow: "#f2c500", green: "#2e9e47", white: "#ffffff", black: "#1a1a1a" };
// Surin in the north-west to Phuket and Krabi in the south-east: every zone this centre covers.
const AREA = [[7.75, 97.55], [9.55, 98.95]];
const LIMITS = [[6.2, 96.3], [10.8, 100.7]]; // inside the outline's extent (assets.py COAST_BBOX)
const KIND_LETTER = { boat: "B", aed: "A", team: "T" };
// OpenStreetMap's tile policy asks for a Referer naming the site; the pages send none anywhere else
// (Referrer-Policy: no-referrer), so only the tiles say where they are shown, and only the origin.
const TILE_REFERRER = "strict-origin-when-cross-origin";

/** Leaflet puts a string into a tooltip as HTML: names people typed go in as an element with text only. */
function text(...parts) {
  return h("span", {}, parts.join(""));
}

export class CoastMap {
  constructor(element, { onSelect, onMode }) {
    this.onSelect = onSelect;
    this.onMode = onMode;
    this.map = L.map(element, { zoomControl: true, attributionControl: true, minZoom: 7, maxBounds: LIMITS,
      maxBoundsViscosity: 1 })
      .fitBounds(AREA);
    this.map.attributionControl.setPrefix("Leaflet");
    this.map.createPane("coast").style.zIndex = 150; // under the tiles (200): tiles cover it when they load
    this.map.createPane("incidents").style.zIndex = 650; // above the fleet's markers (600): never hidden by a boat
    // The panel's size settles after the grid lays out (and changes with the window): tell Leaflet.
    new ResizeObserver(() => this.map.invalidateSize()).observe(element);
    this.incidents = L.layerGroup().addTo(this.map);
    this.resources = L.layerGroup().addTo(this.map);
    this.facilities = L.layerGroup().addTo(this.map);
    this.vessels = L.layerGroup().addTo(this.map);
    this.markers = new Map();
    this.tiles = null;
    this.tileFailures = 0;
    this.loadCoast();
    this.useTiles(navigator.onLine);
    window.addEventListener("online", () => this.useTiles(true));
    window.addEventListener("offline", () => this.useTiles(false));
  }

  async loadCoast() {
    try {
      const response = await fetch("/vendor/coast.geojson");
      const land = await response.json();
      L.geoJSON(land, {
        pane: "coast", interactive: false,
        // Drawn well beyond the view, so a pan never shows the coast cut off before it is redrawn.
        renderer: L.svg({ pane: "coast", padding: 0.6 }),
        style: { color: "#8a7f66", weight: 1, fillColor: "#efe9d8", fillOpacity: 1 },
      }).addTo(this.map);
    } catch {
      // No outline either: markers still show on the blue sea.
    }
  }

  useTiles(online) {
    if (online && !this.tiles) {
      this.tileFailures = 0;
      this.tiles = L.tileLayer(TILES, {
        maxZoom: 18, attribution: "© OpenStreetMap contributors", crossOrigin: false,
        referrerPolicy: TILE_REFERRER,
      });
      this.tiles.on("tileerror", () => {
        this.tileFailures += 1;
        if (this.tileFailures >= TILE_FAILURES_BEFORE_OFFLINE) this.useTiles(false);
      });
      this.tiles.on("tileload", () => this.onMode("tiles"));
      this.tiles.addTo(this.map);
    } else if (!online && this.tiles) {
      this.map.removeLayer(this.tiles);
      this.tiles = null;
    }
    if (!this.tiles) this.onMode("offline");
  }

  invalidate() {
    this.map.invalidateSize();
  }

  showFacilities(places) {
    this.facilities.clearLayers();
    for (const place of places.filter((p) => p.kind === "hospital" || p.kind === "health_unit")) {
      L.marker([place.lat, place.lon], {
        icon: L.divIcon({ className: "map-icon facility", html: "H", iconSize: [18, 18] }),
        title: placeName(place), keyboard: false, zIndexOffset: -100,
      }).bindTooltip(text(placeName(place), " · ", word("kind", place.kind))).addTo(this.facilities);
    }
  }

  showResources(rows) {
    this.resources.clearLayers();
    for (const r of rows) {
      if (r.lat == null || r.lon == null) continue;
      // A tracked position gone quiet is drawn faded: where the unit is now is a guess.
      const stale = r.position_stale ? " stale" : "";
      const source = r.position_source && r.position_source !== "operator" ? ` · ${word("position_source", r.position_source)}` : "";
      L.marker([r.lat, r.lon], {
        icon: L.divIcon({ className: `map-icon ${r.kind} ${r.shown_status ?? r.status}${stale}`, html: KIND_LETTER[r.kind] || "?", iconSize: [18, 18] }),
        title: r.name, keyboard: false,
      }).bindTooltip(text(r.name, ` (${r.resource_id}) · `, r.shown_status_text ?? word("resource_status", r.status), source,
        r.position_stale ? ` · ${t("stale")}` : "")).addTo(this.resources);
    }
  }

  /** Vessels of opportunity near the selected incident (non-fleet vessels heard on AIS). */
  showVessels(list) {
    this.vessels.clearLayers();
    for (const v of list) {
      L.marker([v.lat, v.lon], {
        icon: L.divIcon({ className: "map-icon vessel", html: "V", iconSize: [16, 16] }),
        title: v.name || v.mmsi, keyboard: false, zIndexOffset: -50,
      }).bindTooltip(text(v.name || `MMSI ${v.mmsi}`, ` · ${t("km", { d: v.distance_km.toFixed(1) })}`)).addTo(this.vessels);
    }
  }

  showIncidents(rows, selectedId) {
    this.incidents.clearLayers();
    for (const row of rows) {
      const code = row.triage_scene || row.triage_dispatch;
      const selected = row.incident_id === selectedId;
      const marker = L.circleMarker([row.lat, row.lon], {
        pane: "incidents", radius: selected ? 13 : 10, color: selected ? "#0a6fb0" : "#222", weight: selected ? 4 : 2,
        fillColor: TRIAGE_FILL[code] || "#999", fillOpacity: 0.95,
      });
      marker.bindTooltip(text(colourName(code), " · ", word("category", row.category), ` · #${row.incident_id}`));
      marker.on("click", () => this.onSelect(row.incident_id));
      marker.addTo(this.incidents);
    }
  }

  focus(row) {
    if (row) this.map.panTo([row.lat, row.lon]);
  }

  labelText() {
    return this.tiles ? t("map") : t("map_offline");
  }
}
