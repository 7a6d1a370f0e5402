// The operator console: one page, live from dispatch. Leaflet (served by dispatch from the
// project's node_modules, never a CDN) draws the map; the rest is plain DOM.
//
// A mall's board is loaded once (GET .../board); after that the page only applies the changes
// the stream sends (Server-Sent Events), each newer than the version it holds.

const L = window.L;
const $ = (id) => document.getElementById(id);

const KEYED = ["stores", "shipments", "routes", "drivers", "exceptions"];
const SINGLE = ["mall", "same_day", "day"];
const PHASES = {
  planned: { name: "planned", colour: "#7b8594", order: 5 },
  offered: { name: "offered", colour: "#c77700", order: 4 },
  accepted: { name: "accepted", colour: "#2456a6", order: 3 },
  picking_up: { name: "picking up", colour: "#6a3fb5", order: 2 },
  on_the_road: { name: "on the road", colour: "#0f7b8a", order: 1 },
  returning: { name: "returning", colour: "#b3261e", order: 0 },
};
const BOOST_PCT = 20;
const MIN_VIEW_M = 6000;

const state = {
  session: null,
  malls: [],
  mallId: null,
  board: null,
  source: null,
  map: null,
  layers: null,
  selectedRoute: null,
  hasMarkedLoad: false,
  mallsTimer: null,
  deferred: new Set(),
};

class SignedOut extends Error {}

async function api(path, { method = "GET", body } = {}) {
  const response = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (response.status === 401 && path !== "/v1/console/session") {
    signedOut("Your session ended; sign in again.");
    throw new SignedOut();
  }
  if (!response.ok) {
    const error = new Error((data && data.detail) || `${response.status} ${response.statusText}`);
    error.status = response.status;
    throw error;
  }
  return data;
}

// --- time and numbers, in the mall's time zone ------------------------------------------------

function zone() {
  return state.board ? state.board.mall.timezone : "UTC";
}

// Building a formatter costs far more than using one: one per time zone and precision.
const formatters = new Map();

function clockTime(iso, withSeconds = false) {
  if (!iso) return "—";
  const key = `${zone()} ${withSeconds}`;
  let format = formatters.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat("en-GB", {
      timeZone: zone(),
      hour: "2-digit",
      minute: "2-digit",
      second: withSeconds ? "2-digit" : undefined,
    });
    formatters.set(key, format);
  }
  return format.format(new Date(iso));
}

function minutesFromNow(iso) {
  return Math.round((Date.parse(iso) - Date.parse(state.board.now)) / 60000);
}

function relative(iso) {
  const minutes = minutesFromNow(iso);
  if (minutes === 0) return "now";
  return minutes > 0 ? `in ${minutes} min` : `${-minutes} min ago`;
}

function money(cents) {
  return cents === null || cents === undefined ? "—" : `$${(cents / 100).toFixed(2)}`;
}

function short(id) {
  return id ? String(id).slice(0, 8) : "—";
}

function numberOf(version) {
  const [instance, number] = String(version).split(".");
  return { instance, number: Number(number) };
}

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// --- signing in -------------------------------------------------------------------------------

function signedOut(message) {
  closeStream();
  clearInterval(state.mallsTimer);
  $("console").hidden = true;
  $("sign-out").hidden = true;
  $("operator").textContent = "";
  $("sign-in").hidden = false;
  $("sign-in-error").textContent = message || "";
  setLive(false, "not connected");
}

async function signIn(event) {
  event.preventDefault();
  const token = $("token").value.trim();
  try {
    const session = await api("/v1/console/session", { method: "POST", body: { token } });
    $("token").value = "";
    await enter(session);
  } catch (error) {
    $("sign-in-error").textContent =
      error.status === 401 ? "That is not a valid operator token." : error.message;
  }
}

async function signOut() {
  try {
    await api("/v1/console/session", { method: "DELETE" });
  } catch (error) {
    if (!(error instanceof SignedOut)) throw error;
  }
  signedOut("Signed out.");
}

function wantedMall() {
  return decodeURIComponent(location.hash.slice(1));
}

function boardPath(mallId) {
  return `/v1/console/malls/${encodeURIComponent(mallId)}/board`;
}

// `early`: the board of the mall in the address, asked for at once, beside the rest.
async function enter(session, early = null) {
  state.session = session;
  $("sign-in").hidden = true;
  $("console").hidden = false;
  $("sign-out").hidden = false;
  $("operator").textContent = `signed in as ${session.operator}`;
  if (!state.map) initMap();
  await loadMalls();
  clearInterval(state.mallsTimer);
  // The tabs' figures, and what other operators did, every few seconds.
  state.mallsTimer = setInterval(() => {
    loadMalls().catch(() => {});
    if (state.mallId) loadAudit().catch(() => {});
  }, 10000);
  const wanted = wantedMall();
  const first = state.malls.find((m) => m.id === wanted) || state.malls[0];
  if (first) await selectMall(first.id, first.id === wanted ? early : null);
}

// --- the malls --------------------------------------------------------------------------------

function sameDayText(sameDay) {
  if (sameDay.status === "delayed") return `delayed by ${sameDay.delay_minutes} min`;
  return sameDay.status;
}

async function loadMalls() {
  const found = await api("/v1/console/malls");
  state.malls = found.malls;
  const nav = $("malls");
  nav.replaceChildren(
    ...state.malls.map((mall) =>
      el(
        "button",
        {
          type: "button",
          class: mall.id === state.mallId ? "selected" : "",
          dataset: { mallId: mall.id },
          onclick: () => selectMall(mall.id),
        },
        mall.name,
        el(
          "small",
          {},
          `same-day ${sameDayText(mall.same_day)} · ${mall.day.orders} orders · ` +
            `${mall.exceptions} exceptions`,
        ),
      ),
    ),
  );
}

async function selectMall(mallId, early = null) {
  closeStream();
  state.mallId = mallId;
  state.selectedRoute = null;
  $("offer-log-panel").hidden = true;
  history.replaceState(null, "", `#${encodeURIComponent(mallId)}`);
  for (const button of $("malls").querySelectorAll("button")) {
    button.classList.toggle("selected", button.dataset.mallId === mallId);
  }
  await loadBoard(true, early);
  openStream();
  loadAudit().catch(() => {});
}

async function loadBoard(fit, early = null) {
  const mallId = state.mallId;
  const view = (early && (await early)) || (await api(boardPath(mallId)));
  if (mallId !== state.mallId) return;
  const firstLoad = !state.hasMarkedLoad;
  if (firstLoad) performance.mark("board-fetched");
  state.board = {
    version: view.version,
    now: view.now,
    mall: view.mall,
    same_day: view.same_day,
    day: view.day,
  };
  for (const name of KEYED) {
    state.board[name] = new Map(view[name].map((item) => [item.id, item]));
  }
  clearMap();
  drawAll(fit);
  if (firstLoad) performance.mark("board-mapped");
  renderAll();
  if (firstLoad) performance.mark("board-listed");
  if (!state.hasMarkedLoad) {
    state.hasMarkedLoad = true;
    // After the browser has drawn it: what an operator waits for (the benchmark reads this).
    requestAnimationFrame(() =>
      requestAnimationFrame(() => {
        performance.mark("board-rendered");
        document.body.dataset.rendered = "yes";
      }),
    );
  }
}

// --- live changes -----------------------------------------------------------------------------

function setLive(isLive, text) {
  const live = $("live");
  live.classList.toggle("on", isLive);
  live.classList.toggle("off", !isLive);
  live.textContent = text;
  document.body.dataset.live = isLive ? "yes" : "no";
}

function closeStream() {
  if (state.source) state.source.close();
  state.source = null;
}

function openStream() {
  const mallId = state.mallId;
  const url =
    `/v1/console/malls/${encodeURIComponent(mallId)}/stream` +
    `?after=${encodeURIComponent(state.board.version)}`;
  const source = new EventSource(url);
  state.source = source;
  source.addEventListener("open", () => setLive(true, "live"));
  source.addEventListener("error", () => {
    // The browser reconnects by itself and resumes from the last change it saw.
    setLive(false, "reconnecting…");
  });
  source.addEventListener("delta", (event) => {
    if (state.source === source) applyDelta(JSON.parse(event.data));
  });
  source.addEventListener("clock", (event) => {
    if (state.source !== source) return;
    setLive(true, "live");
    tick(JSON.parse(event.data).now);
  });
  source.addEventListener("reset", () => {
    if (state.source === source) loadBoard(false).catch(reportError);
  });
}

function tick(now) {
  if (!state.board || Date.parse(now) <= Date.parse(state.board.now)) return;
  state.board.now = now;
  renderClock();
  renderExceptions();
}

function applyDelta(delta) {
  const board = state.board;
  const have = numberOf(board.version);
  const got = numberOf(delta.version);
  if (got.instance !== have.instance) {
    loadBoard(false).catch(reportError);
    return;
  }
  if (got.number <= have.number) return;
  setLive(true, "live");
  board.version = delta.version;
  board.now = delta.now;
  const changed = new Set();
  for (const name of SINGLE) {
    if (delta.set && delta.set[name]) {
      board[name] = delta.set[name];
      changed.add(name);
    }
  }
  for (const name of KEYED) {
    for (const item of (delta.upsert && delta.upsert[name]) || []) {
      board[name].set(item.id, item);
      changed.add(name);
    }
    for (const id of (delta.remove && delta.remove[name]) || []) {
      board[name].delete(id);
      changed.add(name);
    }
  }
  if (changed.has("mall")) drawMall();
  if (changed.has("stores")) syncStores();
  if (changed.has("shipments") || changed.has("exceptions")) syncShipments();
  if (changed.has("routes")) syncRoutes();
  if (changed.has("drivers")) syncDrivers();
  document.body.dataset.version = board.version;
  renderClock();
  if (changed.has("mall") || changed.has("same_day")) renderHead();
  if (changed.has("day")) renderDay();
  if (changed.has("exceptions")) renderExceptions();
  if (changed.has("shipments") || changed.has("exceptions")) renderWaiting();
  if (changed.has("routes")) renderRoutes();
  if (changed.has("drivers")) renderDrivers();
}

// --- the map ----------------------------------------------------------------------------------

function initMap() {
  const map = L.map("map", { zoomControl: true, attributionControl: true });
  L.control.scale({ metric: true, imperial: true }).addTo(map);
  if (state.session.tile_url) {
    L.tileLayer(state.session.tile_url, {
      attribution: state.session.tile_attribution,
      maxZoom: 19,
    }).addTo(map);
    $("map-note").textContent = "";
  } else {
    $("map-note").textContent =
      "No base map: a plain projection of the mall's outline, its stores, routes and " +
      "drivers (set DISPATCH_CONSOLE_TILE_URL for one).";
  }
  map.attributionControl.setPrefix("Leaflet");
  state.map = map;
  // Hundreds of drop-offs: one canvas draws them far faster than as many SVG shapes.
  state.stopsRenderer = L.canvas({ padding: 0.3 });
  state.layers = {
    mall: L.layerGroup().addTo(map),
    stores: new Map(),
    shipments: new Map(),
    routes: new Map(),
    drivers: new Map(),
  };
}

function clearMap() {
  const layers = state.layers;
  layers.mall.clearLayers();
  for (const name of ["stores", "shipments", "routes", "drivers"]) {
    for (const layer of layers[name].values()) layer.remove();
    layers[name].clear();
  }
}

function drawAll(fit) {
  const mall = state.board.mall;
  // The view first: drawing then moving it would project every shape twice.
  if (fit) fitBoard();
  drawMall();
  syncStores();
  syncShipments();
  syncRoutes();
  syncDrivers();
  document.body.dataset.mall = mall.id;
  document.body.dataset.version = state.board.version;
}

function fitBoard() {
  const mall = state.board.mall;
  // At least the nearby streets: a quiet mall's board still shows where deliveries go.
  const bounds = L.latLng(mall.lat, mall.lng).toBounds(MIN_VIEW_M);
  const points = [bounds.getSouthWest(), bounds.getNorthEast()];
  points.push(...mall.outline);
  for (const s of state.board.shipments.values()) points.push([s.lat, s.lng]);
  for (const r of state.board.routes.values()) for (const s of r.stops) points.push([s.lat, s.lng]);
  for (const d of state.board.drivers.values()) if (d.lat !== null) points.push([d.lat, d.lng]);
  state.map.fitBounds(L.latLngBounds(points), { padding: [24, 24], maxZoom: 16, animate: false });
}

function drawMall() {
  const mall = state.board.mall;
  const group = state.layers.mall;
  group.clearLayers();
  L.polygon(mall.outline, {
    color: "#8a7440",
    weight: 2,
    fillColor: "#e6d8b0",
    fillOpacity: 0.6,
    className: "mall-outline",
  })
    .bindTooltip(`${mall.name}<br>${mall.address}`)
    .addTo(group);
  L.tooltip({ permanent: true, direction: "top", className: "mall-label", offset: [0, -14] })
    .setLatLng([mall.lat, mall.lng])
    .setContent(mall.name)
    .addTo(group);
}

function sync(name, make, update) {
  const layers = state.layers[name];
  const items = state.board[name];
  for (const [id, layer] of layers) {
    if (!items.has(id)) {
      layer.remove();
      layers.delete(id);
    }
  }
  for (const [id, item] of items) {
    const layer = layers.get(id);
    if (layer && update(layer, item)) continue;
    if (layer) layer.remove();
    const made = make(item);
    if (made) {
      made.addTo(state.map);
      layers.set(id, made);
    } else {
      layers.delete(id);
    }
  }
}

function syncStores() {
  sync(
    "stores",
    (store) =>
      L.circleMarker([store.lat, store.lng], {
        radius: 4,
        color: "#8a7440",
        weight: 1,
        fillColor: store.is_active ? "#c9b98f" : "#ffffff",
        fillOpacity: 1,
        className: "store",
      }).bindTooltip(`${store.name} (packs in ~${store.prep_minutes} min)`),
    () => false,
  );
}

function atRiskShipments() {
  const ids = new Set();
  for (const e of state.board.exceptions.values()) {
    if (e.kind === "at_risk" && e.shipment_id) ids.add(e.shipment_id);
  }
  return ids;
}

function syncShipments() {
  const atRisk = atRiskShipments();
  const style = (s) => ({
    radius: 6,
    color: atRisk.has(s.id) ? "#b3261e" : "#a36d00",
    weight: 2,
    fillColor: atRisk.has(s.id) ? "#e0675f" : "#f0b429",
    fillOpacity: 0.9,
  });
  sync(
    "shipments",
    (s) =>
      L.circleMarker([s.lat, s.lng], { ...style(s), className: `shipment shipment-${s.id}` })
        .bindTooltip(() => `Waiting: ${s.store_name} → ${s.dropoff_area}, promise ${clockTime(s.deliver_by)}`),
    (layer, s) => {
      layer.setStyle(style(s));
      return true;
    },
  );
}

function routePoints(route) {
  const mall = state.board.mall;
  return [[mall.lat, mall.lng], ...route.stops.map((s) => [s.lat, s.lng])];
}

function syncRoutes() {
  syncRouteLayers();
  // The drop-offs are pixels on a canvas: the page says how many markers it has on the map.
  let stops = 0;
  for (const group of state.layers.routes.values()) {
    stops += group.getLayers().filter((l) => l instanceof L.CircleMarker && state.map.hasLayer(l)).length;
  }
  $("map").dataset.dropoffs = String(stops);
}

function syncRouteLayers() {
  sync(
    "routes",
    (route) => {
      const phase = PHASES[route.phase] || PHASES.planned;
      const isSelected = route.id === state.selectedRoute;
      const group = L.featureGroup();
      L.polyline(routePoints(route), {
        color: phase.colour,
        weight: isSelected ? 5 : 3,
        opacity: 0.85,
        className: `route route-${route.id} phase-${route.phase}`,
      })
        .bindTooltip(
          `Route ${short(route.id)}: ${phase.name}, ${route.stops.length} stops, ` +
            `${money(route.pay_cents)}`,
        )
        .on("click", () => showOfferLog(route.id))
        .addTo(group);
      for (const stop of route.stops) {
        if (stop.kind !== "dropoff") continue;
        const marker = L.circleMarker([stop.lat, stop.lng], {
          renderer: state.stopsRenderer,
          radius: 5,
          color: phase.colour,
          weight: 2,
          fillColor: stop.state === "pending" ? "#ffffff" : phase.colour,
          fillOpacity: 1,
        });
        const text = `${stop.sequence + 1}`;
        if (isSelected) {
          marker.bindTooltip(text, { permanent: true, direction: "right", className: "stop-label" });
        } else {
          marker.bindTooltip(
            `Stop ${text}: ${stop.area}, promise ${clockTime(stop.deliver_by)}, ` +
              `planned ${clockTime(stop.eta)} (${stop.state})`,
          );
        }
        marker.addTo(group);
      }
      return group;
    },
    () => false,
  );
}

function syncDrivers() {
  sync(
    "drivers",
    (d) => {
      if (d.lat === null || d.lng === null) return null;
      const marker = L.circleMarker([d.lat, d.lng], {
        radius: 7,
        color: "#ffffff",
        weight: 2,
        fillColor: d.is_stale ? "#7b8594" : "#0f9d58",
        fillOpacity: 1,
        className: `driver driver-${d.id}`,
      }).bindTooltip(() => driverText(state.board.drivers.get(d.id) || d));
      marker.on("add", () => marker.getElement()?.classList.toggle("stale", d.is_stale));
      return marker;
    },
    (marker, d) => {
      if (d.lat === null || d.lng === null) return false;
      marker.setLatLng([d.lat, d.lng]);
      marker.setStyle({ fillColor: d.is_stale ? "#7b8594" : "#0f9d58" });
      const element = marker.getElement();
      if (element) element.classList.toggle("stale", d.is_stale);
      return true;
    },
  );
}

function driverText(d) {
  const where = d.position_at ? `last position ${clockTime(d.position_at, true)}` : "no position";
  const route = d.route_id ? `, on route ${short(d.route_id)}` : ", free";
  return `Driver ${short(d.id)}: ${where}${route}${d.is_stale ? " (not reporting)" : ""}`;
}

// --- the side panel and the lists -------------------------------------------------------------

function renderAll() {
  renderClock();
  renderHead();
  renderDay();
  renderExceptions();
  renderWaiting();
  renderRoutes();
  renderDrivers();
}

function renderClock() {
  $("clock").textContent = `${clockTime(state.board.now, true)} mall time`;
}

function renderHead() {
  const { mall, same_day: sameDay } = state.board;
  $("mall-name").textContent = mall.name;
  const badge = $("same-day");
  badge.className = `badge ${sameDay.status}`;
  badge.textContent = `same-day ${sameDayText(sameDay)}: ${sameDay.reason}`;
  $("pause").hidden = sameDay.is_paused_by_operator;
  $("resume").hidden = !sameDay.is_paused_by_operator;
}

function renderDay() {
  const day = state.board.day;
  const rows = [
    ["orders", day.orders],
    ["delivered", day.delivered],
    ["on time", day.on_time_pct === null ? "—" : `${day.on_time_pct}%`],
    ["median to door", day.median_minutes_to_door === null ? "—" : `${day.median_minutes_to_door} min`],
    ["drivers online", day.drivers_online],
    ["orders per driver-hour", day.orders_per_driver_hour ?? "—"],
    ["pay per hour", money(day.pay_per_hour_cents)],
    ["driver hours", day.driver_hours],
  ];
  $("day").replaceChildren(
    ...rows.flatMap(([name, value]) => [el("dt", {}, name), el("dd", { dataset: { stat: name } }, value)]),
  );
}

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

function button(action, id, text, extra = "") {
  return `<button type="button" class="${action} ${extra}" data-do="${action}" data-id="${esc(id)}">${esc(text)}</button>`;
}

// A list being typed in (a cancel's reason) is redrawn once the operator is done with it.
function isBusy(listId) {
  if (!$(listId).querySelector(".cancel-reason")) return false;
  state.deferred.add(listId);
  return true;
}

function renderDeferred() {
  const deferred = [...state.deferred];
  state.deferred.clear();
  if (deferred.includes("exceptions")) renderExceptions();
  if (deferred.includes("waiting")) renderWaiting();
}

function renderExceptions() {
  if (isBusy("exceptions")) return;
  const items = [...state.board.exceptions.values()];
  $("exception-count").textContent = `(${items.length})`;
  $("exceptions").innerHTML = items
    .map(
      (e) =>
        `<li class="exception ${esc(e.severity)} kind-${esc(e.kind)}" data-id="${esc(e.id)}" data-kind="${esc(e.kind)}">` +
        (e.due_at ? `<span class="when">${esc(clockTime(e.due_at))} (${esc(relative(e.due_at))})</span>` : "") +
        `<div class="title">${esc(e.title)}</div><div class="detail">${esc(e.detail)}</div>` +
        exceptionActions(e) +
        "</li>",
    )
    .join("");
}

function exceptionActions(e) {
  const buttons = [];
  if (e.kind === "at_risk" && e.shipment_id && !e.route_id) {
    buttons.push(button("cancel", e.shipment_id, "Cancel shipment", "danger"));
  }
  if (e.kind === "unaccepted_route") buttons.push(button("reoffer", e.route_id, `Re-offer +${BOOST_PCT}%`));
  if (e.route_id) buttons.push(button("log", e.route_id, "Offer log"));
  if (e.kind === "stale_driver") buttons.push(button("offline", e.driver_id, "Mark offline"));
  return buttons.length ? `<div class="do">${buttons.join("")}</div>` : "";
}

function renderWaiting() {
  if (isBusy("waiting")) return;
  const atRisk = atRiskShipments();
  const items = [...state.board.shipments.values()].sort(
    (a, b) => Date.parse(a.deliver_by) - Date.parse(b.deliver_by),
  );
  $("waiting-count").textContent = `(${items.length})`;
  $("waiting").tBodies[0].innerHTML = items
    .map(
      (s) =>
        `<tr class="${atRisk.has(s.id) ? "at-risk" : ""}" data-id="${esc(s.id)}">` +
        `<td>${esc(clockTime(s.deliver_by))}</td><td>${esc(s.store_name)}</td>` +
        `<td>${esc(s.dropoff_area)}</td><td>${esc(s.package_count)}</td>` +
        `<td>${button("cancel", s.id, "Cancel", "danger")}</td></tr>`,
    )
    .join("");
}

function renderRoutes() {
  const items = [...state.board.routes.values()].sort(
    (a, b) =>
      (PHASES[a.phase]?.order ?? 9) - (PHASES[b.phase]?.order ?? 9) ||
      Date.parse(a.depart_at) - Date.parse(b.depart_at),
  );
  $("route-count").textContent = `(${items.length})`;
  $("routes").tBodies[0].innerHTML = items
    .map((r) => {
      const open = r.phase === "planned" || r.phase === "offered";
      return (
        `<tr class="${r.id === state.selectedRoute ? "selected" : ""}" data-id="${esc(r.id)}" data-phase="${esc(r.phase)}">` +
        `<td>${esc(short(r.id))}</td><td class="phase">${esc(PHASES[r.phase]?.name || r.phase)}</td>` +
        `<td>${r.stops.filter((s) => s.kind === "dropoff").length}</td><td>${esc(short(r.driver_id))}</td>` +
        `<td>${esc(money(r.pay_cents))}</td><td>${esc(r.offer_rounds)}</td>` +
        `<td>${button("log", r.id, "log")}${open ? button("reoffer", r.id, `+${BOOST_PCT}%`) : ""}</td></tr>`
      );
    })
    .join("");
}

function renderDrivers() {
  const items = [...state.board.drivers.values()].sort((a, b) => String(a.id).localeCompare(b.id));
  $("driver-count").textContent = `(${items.length})`;
  $("drivers").tBodies[0].innerHTML = items
    .map((d) => {
      const where = d.position_at
        ? `${clockTime(d.position_at, true)} (${d.lat.toFixed(4)}, ${d.lng.toFixed(4)})`
        : "—";
      return (
        `<tr class="${d.is_stale ? "stale" : ""}" data-id="${esc(d.id)}">` +
        `<td>${esc(short(d.id))}</td><td class="position">${esc(where)}</td>` +
        `<td>${esc(short(d.route_id))}</td>` +
        `<td>${d.is_stale ? button("offline", d.id, "Mark offline") : ""}</td></tr>`
      );
    })
    .join("");
}

// One handler for every button in the lists: they are redrawn as the board changes.
function onListClick(event) {
  const target = event.target.closest("button[data-do]");
  if (!target) return;
  const id = target.dataset.id;
  if (target.dataset.do === "log") showOfferLog(id).catch(reportError);
  if (target.dataset.do === "reoffer") act(`/v1/console/routes/${id}/reoffer`, { boost_pct: BOOST_PCT });
  if (target.dataset.do === "offline") {
    act(`/v1/console/drivers/${id}/offline`, { mall_id: state.mallId });
  }
  if (target.dataset.do === "cancel") askWhyCancel(target, id);
}

function askWhyCancel(target, shipmentId) {
  const reason = el("input", { type: "text", class: "cancel-reason", placeholder: "why (told to the order service)" });
  const confirm = el("button", { type: "button", class: "danger confirm-cancel" }, "Confirm cancel");
  const keep = el("button", { type: "button" }, "Keep");
  const form = el("span", { class: "do" }, reason, confirm, keep);
  keep.addEventListener("click", () => {
    form.replaceWith(target);
    renderDeferred();
  });
  confirm.addEventListener("click", async () => {
    const why = reason.value.trim() || "cancelled from the console";
    form.remove();
    renderDeferred();
    await act(`/v1/console/shipments/${shipmentId}/cancel`, { reason: why, mall_id: state.mallId });
  });
  target.replaceWith(form);
  reason.focus();
}

async function loadAudit() {
  const mallId = state.mallId;
  const log = await api(`/v1/console/malls/${encodeURIComponent(mallId)}/actions?limit=30`);
  if (mallId !== state.mallId) return;
  $("audit").replaceChildren(
    ...log.actions.map((a) =>
      el(
        "li",
        { class: a.outcome, dataset: { action: a.action } },
        `${clockTime(a.at)} ${a.operator}: ${a.action.replaceAll("_", " ")} (${a.outcome}) — ${a.message}`,
      ),
    ),
  );
}

async function showOfferLog(routeId) {
  state.selectedRoute = routeId;
  syncRouteSelection();
  const log = await api(`/v1/console/routes/${routeId}/offers`);
  const rows = log.rounds.flatMap((round) =>
    round.shown_to.map((seen) =>
      el(
        "tr",
        {},
        el("td", {}, round.round),
        el("td", {}, short(seen.driver_id)),
        el("td", {}, money(seen.pay_cents)),
        el("td", {}, clockTime(seen.shown_at, true)),
        el("td", { class: "answer" }, seen.answer),
      ),
    ),
  );
  $("offer-log").replaceChildren(
    el("p", {}, `Route ${short(routeId)} is ${log.route_status}; ${log.rounds.length} offer round(s).`),
    el(
      "table",
      { dataset: { routeId } },
      el("thead", {}, el("tr", {}, ["round", "driver", "pay", "shown", "answer"].map((h) => el("th", {}, h)))),
      el("tbody", {}, rows),
    ),
  );
  $("offer-log-panel").hidden = false;
}

function syncRouteSelection() {
  // Redraw all routes: the selected one gets its stop numbers, the others lose theirs.
  for (const layer of state.layers.routes.values()) layer.remove();
  state.layers.routes.clear();
  syncRoutes();
  renderRoutes();
}

// --- actions ----------------------------------------------------------------------------------

async function act(path, body) {
  const result = $("action-result");
  result.className = "";
  result.textContent = "…";
  try {
    const done = await api(path, { method: "POST", body });
    result.textContent = done.message;
  } catch (error) {
    if (error instanceof SignedOut) return;
    result.className = "refused";
    result.textContent = error.message;
  }
  loadAudit().catch(() => {});
}

function reportError(error) {
  if (error instanceof SignedOut) return;
  const result = $("action-result");
  result.className = "refused";
  result.textContent = error.message;
}

// --- start ------------------------------------------------------------------------------------

async function start() {
  $("sign-in-form").addEventListener("submit", signIn);
  for (const list of ["exceptions", "waiting", "routes", "drivers"]) {
    $(list).addEventListener("click", onListClick);
  }
  $("sign-out").addEventListener("click", signOut);
  $("close-offer-log").addEventListener("click", () => {
    $("offer-log-panel").hidden = true;
    state.selectedRoute = null;
    syncRouteSelection();
  });
  $("run-round").addEventListener("click", () =>
    act(`/v1/console/malls/${encodeURIComponent(state.mallId)}/rounds`, undefined),
  );
  $("pause").addEventListener("click", () =>
    act(`/v1/console/malls/${encodeURIComponent(state.mallId)}/pause`, { note: "from the console" }),
  );
  $("resume").addEventListener("click", () =>
    act(`/v1/console/malls/${encodeURIComponent(state.mallId)}/resume`, { note: "from the console" }),
  );
  window.addEventListener("hashchange", () => {
    const wanted = decodeURIComponent(location.hash.slice(1));
    if (wanted && wanted !== state.mallId && state.malls.some((m) => m.id === wanted)) {
      selectMall(wanted).catch(reportError);
    }
  });
  // Who is signed in, the mall list and the board, all at once: a busy board is the slowest.
  const wanted = wantedMall();
  const early = wanted
    ? fetch(boardPath(wanted), { credentials: "same-origin" })
        .then((response) => (response.ok ? response.json() : null))
        .catch(() => null)
    : null;
  let session = null;
  try {
    session = await api("/v1/console/session");
  } catch (error) {
    signedOut("");
    return;
  }
  await enter(session, early);
}

start().catch(reportError);
