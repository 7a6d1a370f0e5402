// The shopper's tracking page: polls the order's status and draws it. Only this order's own
// facts arrive here: its status, promise, ETA, the driver once away from the mall, the proof.
"use strict";

const REFRESH_MS = 10000;
const METERS_PER_DEGREE = 111320;
const page = document.getElementById("tracking");

function clock(iso) {
  return new Date(iso).toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
}

function day(iso) {
  const when = new Date(iso);
  const today = new Date();
  const tomorrow = new Date(today.getFullYear(), today.getMonth(), today.getDate() + 1);
  if (when.toDateString() === today.toDateString()) return "today";
  if (when.toDateString() === tomorrow.toDateString()) return "tomorrow";
  return when.toLocaleDateString([], { weekday: "long", month: "short", day: "numeric" });
}

function setTime(id, iso) {
  const element = document.getElementById(id);
  element.dateTime = iso;
  element.textContent = clock(iso);
}

// Metres east and north of `origin`: a flat map is exact enough across a city.
function offset(origin, point) {
  const north = (point.lat - origin.lat) * METERS_PER_DEGREE;
  const east = (point.lng - origin.lng) * METERS_PER_DEGREE * Math.cos((origin.lat * Math.PI) / 180);
  return { east, north };
}

function drawDriver(view) {
  const section = document.getElementById("map-section");
  if (!view.driver) {
    section.hidden = true;
    return;
  }
  const { east, north } = offset(view.destination, view.driver);
  const meters = Math.hypot(east, north);
  // The outer ring is the next round distance at or beyond the driver.
  const scale = Math.max(500, Math.ceil(meters / 500) * 500);
  const dot = document.getElementById("driver-dot");
  const label = document.getElementById("driver-label");
  const x = (east / scale) * 90;
  const y = (-north / scale) * 90;
  dot.setAttribute("cx", x.toFixed(1));
  dot.setAttribute("cy", y.toFixed(1));
  // The label goes on the dot's side towards the door: towards the rim, the round map cut it off.
  const towardsCentre = x > 0;
  label.setAttribute("text-anchor", towardsCentre ? "end" : "start");
  label.setAttribute("x", (towardsCentre ? x - 9 : x + 9).toFixed(1));
  label.setAttribute("y", (y < 0 ? y + 12 : y - 4).toFixed(1));
  document.getElementById("distance").textContent =
    `Your driver is ${(meters / 1000).toFixed(1)} km away (outer ring: ${(scale / 1000).toFixed(1)} km).`;
  section.hidden = false;
}

function drawProof(view) {
  const section = document.getElementById("proof");
  if (!view.proof) {
    section.hidden = true;
    return;
  }
  setTime("delivered-at", view.proof.delivered_at);
  const photos = document.getElementById("photos");
  photos.replaceChildren(
    ...view.proof.photo_urls.map((url) => {
      const image = document.createElement("img");
      image.src = url;
      image.alt = "Your order at the door";
      return image;
    }),
  );
  section.hidden = false;
}

function draw(view) {
  document.getElementById("headline").textContent = view.message;
  setTime("window-start", view.window.starts_at);
  setTime("window-end", view.window.ends_at);
  document.getElementById("promise").firstChild.textContent = `Arriving ${day(view.window.ends_at)} `;
  const eta = document.getElementById("eta");
  eta.hidden = !view.eta;
  if (view.eta) setTime("eta-time", view.eta);
  document.getElementById("delayed").hidden = !view.is_delayed;
  drawDriver(view);
  drawProof(view);
  document.getElementById("timeline").replaceChildren(
    ...view.timeline.map((entry) => {
      const item = document.createElement("li");
      item.textContent = `${clock(entry.at)}: ${entry.message}`;
      return item;
    }),
  );
  page.dataset.status = view.status;
  page.dataset.driverShown = view.driver ? "yes" : "no";
}

async function refresh() {
  try {
    const response = await fetch(page.dataset.statusUrl, { cache: "no-store" });
    if (response.ok) draw(await response.json());
  } catch (error) {
    // Offline for a moment: the next refresh tries again.
  }
}

refresh();
setInterval(refresh, REFRESH_MS);
