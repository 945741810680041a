// studio.js — the page of `neural-style serve`: choose images and options, plan, start, watch the
// queue and the running job live, and compare and download finished results. Plain JavaScript,
// no build step and nothing fetched from outside the server (the server embeds web/ as it is).
//
// Stable hooks (tools/studio_browser_test.py finds elements by these; keep them when restyling):
//   #version              server version
//   #ws-status            live-update connection, data-state = connecting | open | closed
//   #error, #error-text   the error line: the API's `error` message, or the page's own; hidden when empty
//   #content-drop         drop zone of the content image; #content-input its file input
//   #content-slot         the chosen content image, data-image = image id ("" when none)
//   #style-drop           drop zone of the style images; #style-input its file input (multiple)
//   #style-list           the chosen styles, .style-item[data-index=K][data-image=ID] with K from 1;
//                           in each: .mask-input (file input, id mask-input-K), .mask-select (a mask
//                           from the library, "" = none), .style-remove
//   #library              images uploaded before (GET /api/images): .library-item[data-image=ID]
//                           with buttons .use-content and .use-style; items drag onto any drop zone
//   #options              the option fields, each [data-option=NAME] with NAME the stylize option:
//                           #opt-size #opt-iterations #opt-style-weight #opt-tv-weight
//                           #opt-style-mean-weight #opt-optimizer #opt-init #opt-preserve-color #opt-seed #opt-style-blend-weights #opt-model
//   #device               device select (ids from /api/info)
//   #plan, #plan-text     memory plan button and its text
//   #start                start a job; data-last-job = id of the job it created last
//   #live                 the watched job: data-job = id, data-status = its status
//   #live-image           its latest image (a data: URL from the WebSocket while it runs)
//   #progress             <progress>: value = iteration, max = iterations
//   #iteration            "i / n"; #sec-per-iteration; #eta; #live-status
//   #loss-plot            <canvas>, loss per term against iteration, log y; data-points = points drawn
//   #loss-legend          term names, colours and latest values
//   #queue                .queue-device[data-device=ID] per device, holding .queue-item[data-job=ID]
//                           [data-status=S] with .position, .status, .cancel; finished failed or
//                           cancelled jobs stay listed under .queue-recent with .remove
//   #gallery              finished results: .gallery-item[data-job=ID] with .result (img),
//                           .compare-select (checkbox), .download (link, download attribute),
//                           .copy-command, .reuse (load its inputs and options), .delete
//   #command-box          shown after a copy; #command-text (<code>) holds the command line
//   #compare-view         the ticked results side by side: .compare-item[data-job=ID]

"use strict";

// ---------------------------------------------------------------------------------------------
// State: one object, so every render reads the same truth.

const state = {
  info: null,               // GET /api/info
  images: new Map(),        // image id → {id, name, width, height, bytes}
  content: null,            // chosen content image id
  styles: [],               // chosen styles in order: {image: id, mask: id or null}
  jobs: new Map(),          // job id → job object
  histories: new Map(),     // job id → [{iteration, values: {total, content, …}}]
  watched: null,            // job id shown in the live panel
  livePreviewJob: null,     // job whose data: URL #live-image shows (null: a URL or nothing)
  compare: new Set(),       // job ids ticked for comparison, in ticking order
  socketDelay: 500,         // next reconnect delay, ms (doubles to 15 s, reset on open)
};

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

// Builds an element: el("span", {class: "x", dataset: {job: id}}, "text", child…). `style` takes
// an object and goes through the CSSOM: the server's Content-Security-Policy refuses style attributes.
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "style") Object.assign(node.style, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// ---------------------------------------------------------------------------------------------
// The API. Every failure becomes an Error whose message is the API's one-line `error`.

async function api(method, path, body) {
  const init = { method, credentials: "same-origin", headers: {} };
  if (body instanceof Blob) {
    init.body = body;
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new Error(`${method} ${path}: the server did not answer (${error.message})`);
  }
  const text = response.status === 204 ? "" : await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!response.ok) {
    if (data && typeof data.error === "string") throw new Error(data.error);
    throw new Error(`${method} ${path}: HTTP ${response.status}${text ? ": " + text.slice(0, 200) : ""}`);
  }
  return data;
}

function showError(error) {
  const message = error instanceof Error ? error.message : String(error);
  $("#error-text").textContent = message;
  $("#error").hidden = false;
  console.warn("studio:", message);
}

function clearError() {
  $("#error").hidden = true;
  $("#error-text").textContent = "";
}

// Runs a user action: clears the last error, disables the button meanwhile, shows a failure.
async function act(button, action) {
  clearError();
  if (button) button.disabled = true;
  try {
    return await action();
  } catch (error) {
    showError(error);
  } finally {
    if (button) button.disabled = false;
  }
}

// ---------------------------------------------------------------------------------------------
// Formatting

function formatBytes(n) {
  if (n >= 1 << 30) return (n / (1 << 30)).toFixed(1) + " GiB";
  if (n >= 1 << 20) return (n / (1 << 20)).toFixed(1) + " MiB";
  if (n >= 1 << 10) return (n / (1 << 10)).toFixed(0) + " KiB";
  return n + " B";
}

function formatSeconds(s) {
  if (s === null || s === undefined || !isFinite(s)) return "—";
  if (s < 60) return s < 10 ? s.toFixed(1) + " s" : Math.round(s) + " s";
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s - 60 * m)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

function formatLoss(x) {
  if (x === null || x === undefined || !isFinite(x)) return "—";
  if (x === 0) return "0";
  return Math.abs(x) >= 0.01 && Math.abs(x) < 1e4 ? x.toPrecision(4) : x.toExponential(3);
}

function formatTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return isNaN(date) ? iso : date.toLocaleString();
}

function imageName(id) {
  const image = state.images.get(id);
  return image ? image.name : id;
}

function imageURL(id) {
  return "/api/images/" + encodeURIComponent(id);
}

function isActive(job) {
  return job && (job.status === "queued" || job.status === "running");
}

// ---------------------------------------------------------------------------------------------
// Server info: fills the model and device selects and the option defaults.

async function loadInfo() {
  const info = await api("GET", "/api/info");
  state.info = info;
  $("#version").textContent = info.version || "";

  const model = $("#opt-model");
  model.replaceChildren(...(info.models || []).map((m) => el("option", { value: m }, m)));
  const device = $("#device");
  device.replaceChildren(...(info.devices || []).map((d) =>
    el("option", { value: d.id }, d.name ? `${d.id} — ${d.name}` : d.id)));

  // Empty fields are omitted from the request, so the server's own default applies.
  const defaults = info.defaults || {};
  for (const field of $$("[data-option]")) {
    const value = defaults[field.dataset.option];
    if (value !== undefined && value !== null) field.value = String(value);
  }
}

// ---------------------------------------------------------------------------------------------
// Images: upload, library, and the chosen content, styles and masks.

async function upload(file) {
  const limit = state.info && state.info.limits && state.info.limits.uploadBytes;
  if (limit && file.size > limit) {
    throw new Error(`${file.name} is ${formatBytes(file.size)}, over the server's upload limit of ${formatBytes(limit)}`);
  }
  const image = await api("POST", "/api/images?name=" + encodeURIComponent(file.name), file);
  state.images.set(image.id, image);
  renderLibrary();
  return image;
}

async function loadImages() {
  const data = await api("GET", "/api/images");
  state.images = new Map((data.images || []).map((image) => [image.id, image]));
  renderLibrary();
  renderInputs();
}

function setContent(id) {
  state.content = id;
  renderInputs();
}

function addStyle(id) {
  state.styles.push({ image: id, mask: null });
  renderInputs();
}

function setMask(index, id) {
  state.styles[index].mask = id || null;
  renderInputs();
}

function imageSlot(id) {
  const image = state.images.get(id);
  return [
    el("img", { class: "thumb", src: imageURL(id), alt: "" }),
    el("span", { class: "image-meta" },
      el("span", { class: "name", title: image ? image.name : id }, imageName(id)),
      image ? el("span", { class: "dims" }, `${image.width}×${image.height} · ${formatBytes(image.bytes)}`) : null),
  ];
}

function renderInputs() {
  const slot = $("#content-slot");
  slot.dataset.image = state.content || "";
  slot.replaceChildren(...(state.content ? imageSlot(state.content) : [el("span", { class: "muted" }, "No content image yet.")]));

  const list = $("#style-list");
  list.replaceChildren(...state.styles.map((style, i) => styleItem(style, i)));

  // Blend weights mean something only for two or more styles, and the CLI refuses them with masks.
  const blend = $("#opt-style-blend-weights");
  const hasMasks = state.styles.some((s) => s.mask);
  blend.disabled = state.styles.length < 2 || hasMasks;
  blend.placeholder = hasMasks ? "not with masks" : state.styles.length < 2 ? "needs two or more styles"
    : state.styles.map(() => "1").join(",");
}

function styleItem(style, index) {
  const k = index + 1;
  const maskSelect = el("select", { class: "mask-select", "aria-label": `Mask of style ${k}` },
    el("option", { value: "" }, "no mask"),
    [...state.images.values()].map((image) =>
      el("option", { value: image.id, selected: image.id === style.mask }, image.name)));
  maskSelect.addEventListener("change", () => setMask(index, maskSelect.value));

  const maskInput = el("input", { type: "file", accept: "image/*", class: "file-input mask-input", id: `mask-input-${k}` });
  maskInput.addEventListener("change", () => {
    const file = maskInput.files[0];
    maskInput.value = "";
    if (file) act(null, async () => setMask(index, (await upload(file)).id));
  });

  const maskDrop = el("div", { class: "mask-drop", dataset: { maskFor: String(k) } },
    style.mask ? el("img", { class: "thumb tiny", src: imageURL(style.mask), alt: "" }) : null,
    el("span", {}, "Mask"),
    maskSelect,
    el("label", { class: "file-label" }, "upload…", maskInput));
  makeDropZone(maskDrop, async (id) => setMask(index, id), false);

  return el("li", { class: "style-item", dataset: { index: String(k), image: style.image } },
    el("span", { class: "style-number" }, String(k)),
    ...imageSlot(style.image),
    el("button", {
      type: "button", class: "small danger style-remove", title: "Remove this style",
      onclick: () => { state.styles.splice(index, 1); renderInputs(); },
    }, "Remove"),
    maskDrop);
}

function renderLibrary() {
  const library = $("#library");
  const images = [...state.images.values()];
  if (images.length === 0) {
    library.replaceChildren(el("span", { class: "muted" }, "Nothing uploaded yet."));
    return;
  }
  library.replaceChildren(...images.map((image) => {
    const item = el("div", { class: "library-item", draggable: "true", dataset: { image: image.id }, title: `${image.name} — ${image.width}×${image.height}` },
      el("img", { src: imageURL(image.id), alt: "", loading: "lazy" }),
      el("span", { class: "name" }, image.name),
      el("span", { class: "buttons" },
        el("button", { type: "button", class: "use-content", onclick: () => { clearError(); setContent(image.id); } }, "Content"),
        el("button", { type: "button", class: "use-style", onclick: () => { clearError(); addStyle(image.id); } }, "+ Style")));
    item.addEventListener("dragstart", (event) => {
      event.dataTransfer.setData("application/x-neural-style-image", image.id);
      event.dataTransfer.effectAllowed = "copy";
    });
    return item;
  }));
  // The mask selects list the library too.
  if (state.styles.length) renderInputs();
}

// Makes `zone` accept dropped files (uploaded first) and library items; calls use(imageId) for each.
function makeDropZone(zone, use, multiple) {
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    const libraryId = event.dataTransfer.getData("application/x-neural-style-image");
    if (libraryId) {
      clearError();
      use(libraryId);
      return;
    }
    const files = Array.from(event.dataTransfer.files);
    uploadInto(zone, multiple ? files : files.slice(0, 1), use);
  });
}

function uploadInto(zone, files, use) {
  if (files.length === 0) return;
  act(null, async () => {
    zone.classList.add("busy");
    try {
      for (const file of files) use((await upload(file)).id);
    } finally {
      zone.classList.remove("busy");
    }
  });
}

function setUpInputs() {
  const contentInput = $("#content-input");
  contentInput.addEventListener("change", () => {
    const files = Array.from(contentInput.files).slice(0, 1);
    contentInput.value = "";
    uploadInto($("#content-drop"), files, setContent);
  });
  makeDropZone($("#content-drop"), setContent, false);

  const styleInput = $("#style-input");
  styleInput.addEventListener("change", () => {
    const files = Array.from(styleInput.files);
    styleInput.value = "";
    uploadInto($("#style-drop"), files, addStyle);
  });
  makeDropZone($("#style-drop"), addStyle, true);

  // A file dropped beside a zone would make the browser open it and leave the page.
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());
}

// ---------------------------------------------------------------------------------------------
// The job request, shared by Plan and Start.

function jobRequest() {
  if (!state.content) throw new Error("Choose a content image first");
  if (state.styles.length === 0) throw new Error("Choose at least one style image");
  const options = {};
  for (const field of $$("[data-option]")) {
    const value = field.value.trim();
    if (!field.disabled && value !== "") options[field.dataset.option] = value;
  }
  const request = { content: state.content, styles: state.styles.map((s) => s.image), options };
  const masks = {};
  state.styles.forEach((s, i) => { if (s.mask) masks[String(i + 1)] = s.mask; });
  if (Object.keys(masks).length) request.masks = masks;
  const device = $("#device").value;
  if (device) request.device = device;
  return request;
}

async function plan() {
  const text = $("#plan-text");
  const result = await api("POST", "/api/plan", jobRequest());
  text.textContent = result.device ? `${result.device}: ${result.text}` : result.text;
  text.hidden = false;
}

async function start() {
  const job = await api("POST", "/api/jobs", jobRequest());
  $("#start").dataset.lastJob = job.id;
  upsertJob(job);
  // A job that waits in the queue has nothing to show yet: keep showing the one that runs.
  const watched = state.jobs.get(state.watched);
  if (!watched || watched.status !== "running" || job.status === "running") watch(job.id);
  renderQueue();
}

// Loads a finished job's inputs and options back into the form, to vary one thing and rerun.
function reuse(job) {
  state.content = job.content;
  const masks = job.masks || {};
  state.styles = (job.styles || []).map((image, i) => ({ image, mask: masks[String(i + 1)] || null }));
  renderInputs();
  const defaults = (state.info && state.info.defaults) || {};
  for (const field of $$("[data-option]")) {
    const name = field.dataset.option;
    const value = job.options && job.options[name] !== undefined ? job.options[name] : defaults[name];
    field.value = value === undefined || value === null ? "" : String(value);
  }
  if (job.device) $("#device").value = job.device;
  $("#options-panel").scrollIntoView({ behavior: "smooth", block: "nearest" });
}

// ---------------------------------------------------------------------------------------------
// Jobs: the list, updates from the WebSocket, and which job the live panel shows.

// A finished job never becomes queued or running again, so an older copy of it is dropped:
// replies and WebSocket events can arrive out of order (a cancel's reply, written while the
// job still ran, may come after the event saying that it ended).
function upsertJob(job) {
  const existing = state.jobs.get(job.id);
  if (!existing) {
    state.jobs.set(job.id, job);
    return job;
  }
  if (!isActive(existing) && isActive(job)) return existing;
  return Object.assign(existing, job);
}

async function refreshJobs() {
  const data = await api("GET", "/api/jobs");
  const seen = new Set();
  for (const job of data.jobs || []) {
    upsertJob(job);
    seen.add(job.id);
  }
  for (const id of [...state.jobs.keys()]) if (!seen.has(id)) forgetJob(id);
  renderQueue();
  renderGallery();
  const watched = state.jobs.get(state.watched);
  if (watched) renderLive();
  else autoWatch();
}

function forgetJob(id) {
  state.jobs.delete(id);
  state.histories.delete(id);
  state.compare.delete(id);
  if (state.watched === id) {
    state.watched = null;
    $("#live-image").removeAttribute("src");
    renderLive();
  }
}

// Shows a running job when the live panel has nothing active to show.
function autoWatch() {
  if (isActive(state.jobs.get(state.watched))) return;
  const running = [...state.jobs.values()].find((job) => job.status === "running");
  if (running) watch(running.id);
}

// Puts job `id` in the live panel; its history (GET /api/jobs/{id}) draws the curve so far.
function watch(id) {
  if (state.watched !== id) {
    state.watched = id;
    state.livePreviewJob = null;
    const job = state.jobs.get(id);
    const image = $("#live-image");
    const url = job && (job.status === "done" ? job.result : job.preview);
    if (url) image.src = url + (url.includes("?") ? "&" : "?") + "t=" + Date.now();
    else image.removeAttribute("src");
  }
  renderLive();
  renderQueue();
  api("GET", "/api/jobs/" + encodeURIComponent(id)).then((detail) => {
    const fetched = (detail.history || []).map((h) => ({
      iteration: h.iteration,
      values: Object.assign({}, h.terms || {}, typeof h.total === "number" ? { total: h.total } : {}),
    }));
    // Points that arrived over the WebSocket while the request was out come after the history.
    const last = fetched.length ? fetched[fetched.length - 1].iteration : -Infinity;
    const live = (state.histories.get(id) || []).filter((p) => p.iteration > last);
    state.histories.set(id, fetched.concat(live));
    delete detail.history;
    upsertJob(detail);
    if (state.watched === id) renderLive();
  }).catch(showError);
}

function recordProgress(message) {
  const job = state.jobs.get(message.id);
  if (job) {
    job.iteration = message.iteration;
    if (message.iterations !== undefined) job.iterations = message.iterations;
    job.secondsPerIteration = message.secondsPerIteration;
    job.eta = message.eta;
    job.loss = message.loss;
    if (job.status === "queued") job.status = "running";
  }
  if (message.loss) {
    const history = state.histories.get(message.id) || [];
    const last = history.length ? history[history.length - 1].iteration : -Infinity;
    if (message.iteration > last) {
      history.push({ iteration: message.iteration, values: Object.assign({}, message.loss.terms || {}, { total: message.loss.total }) });
    }
    state.histories.set(message.id, history);
  }
}

function handleEvent(message) {
  switch (message.type) {
    case "job": {
      const before = state.jobs.get(message.job.id);
      const oldStatus = before ? before.status : null;
      const job = upsertJob(message.job);
      renderQueue();
      if (job.status !== oldStatus) renderGallery();
      if (job.id === state.watched) {
        // A job that finished without a preview shows its result.
        if (job.status === "done" && state.livePreviewJob !== job.id && job.result) $("#live-image").src = job.result;
        renderLive();
      }
      if (job.status === "running") autoWatch();
      break;
    }
    case "progress": {
      recordProgress(message);
      if (message.id === state.watched) renderLive();
      else autoWatch();
      updateQueueProgress(message.id);
      break;
    }
    case "preview": {
      if (message.id !== state.watched && !isActive(state.jobs.get(state.watched)) && state.jobs.has(message.id)) watch(message.id);
      if (message.id === state.watched) {
        $("#live-image").src = message.image;
        state.livePreviewJob = message.id;
      }
      break;
    }
    default:
      break; // Message types this page does not know are for newer pages.
  }
}

// The WebSocket: reconnects with backoff; every (re)connect reloads the job list, since events
// sent while it was closed are lost.
function connectEvents() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const status = $("#ws-status");
  status.dataset.state = "connecting";
  status.textContent = "connecting";
  let socket;
  try {
    socket = new WebSocket(`${scheme}//${location.host}/api/events`);
  } catch (error) {
    scheduleReconnect();
    return;
  }
  socket.addEventListener("open", () => {
    state.socketDelay = 500;
    status.dataset.state = "open";
    status.textContent = "live";
    refreshJobs().catch(showError);
  });
  socket.addEventListener("message", (event) => {
    let message;
    try { message = JSON.parse(event.data); } catch { return; }
    try { handleEvent(message); } catch (error) { console.error("studio: event", error); }
  });
  socket.addEventListener("close", () => {
    status.dataset.state = "closed";
    status.textContent = "offline — reconnecting";
    scheduleReconnect();
  });
}

function scheduleReconnect() {
  setTimeout(connectEvents, state.socketDelay);
  state.socketDelay = Math.min(state.socketDelay * 2, 15000);
}

// ---------------------------------------------------------------------------------------------
// Live panel

function renderLive() {
  const live = $("#live");
  const job = state.jobs.get(state.watched);
  if (!job) {
    live.dataset.job = "";
    live.dataset.status = "";
    $("#live-title").textContent = "";
    $("#live-status").textContent = "";
    $("#iteration").textContent = "0 / 0";
    $("#progress").max = 1;
    $("#progress").value = 0;
    $("#sec-per-iteration").textContent = "—";
    $("#eta").textContent = "—";
    drawLossPlot([], 0);
    return;
  }
  live.dataset.job = job.id;
  live.dataset.status = job.status;
  $("#live-title").textContent = `· job ${job.id} on ${job.device}`;
  const badge = $("#live-status");
  badge.textContent = job.status;
  badge.dataset.status = job.status;
  const total = job.iterations || Number(job.options && job.options.iterations) || 0;
  const iteration = job.iteration || 0;
  $("#iteration").textContent = `${iteration} / ${total}`;
  $("#progress").max = Math.max(total, 1);
  $("#progress").value = job.status === "done" ? Math.max(total, 1) : Math.min(iteration, Math.max(total, 1));
  $("#sec-per-iteration").textContent = typeof job.secondsPerIteration === "number" ? job.secondsPerIteration.toFixed(3) : "—";
  $("#eta").textContent = job.status === "running" ? formatSeconds(job.eta) : job.status === "done" ? "done" : "—";
  drawLossPlot(state.histories.get(job.id) || [], total);
}

// The colours of the usual terms; other term names take the next free colour.
const termColors = { total: "#e4e6e8", content: "#5aa9ff", style: "#ff8a5c", tv: "#6fd08c" };
const extraColors = ["#c792ea", "#f2c14e", "#4fd6d6", "#ff6b9a", "#a3be8c", "#d08770"];

function termOrder(points) {
  const names = [];
  for (const p of points) for (const name of Object.keys(p.values)) if (!names.includes(name)) names.push(name);
  const known = ["total", "content", "style", "tv"].filter((n) => names.includes(n));
  return known.concat(names.filter((n) => !known.includes(n)));
}

function colorOf(name, names) {
  if (termColors[name]) return termColors[name];
  const extras = names.filter((n) => !termColors[n]);
  return extraColors[extras.indexOf(name) % extraColors.length];
}

// Round numbers for the x axis: 1, 2 or 5 times a power of ten, about six ticks.
function niceStep(range) {
  const raw = range / 6;
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

// Loss per term against iteration, y on a log scale (the terms differ by orders of magnitude and
// fall steeply at first). Values ≤ 0 have no logarithm and are left out.
function drawLossPlot(points, iterations) {
  const canvas = $("#loss-plot");
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 400;
  const height = canvas.clientHeight || 220;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.font = "11px system-ui, sans-serif";

  const names = termOrder(points);
  const usable = (v) => typeof v === "number" && v > 0 && isFinite(v);
  let low = Infinity;
  let high = -Infinity;
  let drawn = 0;
  for (const p of points) {
    for (const name of names) {
      const v = p.values[name];
      if (usable(v)) {
        low = Math.min(low, v);
        high = Math.max(high, v);
      }
    }
  }
  // The content term starts at 0 (init = content) and climbs through many decades in the first
  // steps; scaling to those would flatten every curve. The axis goes down to two decades under
  // each term's latest value, and anything lower is drawn on the bottom edge.
  let floor = Infinity;
  for (const name of names) {
    const latest = [...points].reverse().map((p) => p.values[name]).find(usable);
    if (latest !== undefined) floor = Math.min(floor, latest / 100);
  }
  if (isFinite(floor)) low = Math.max(low, Math.min(floor, high / 10));
  canvas.dataset.points = "0";
  renderLegend(points, names);
  if (!isFinite(low)) {
    ctx.fillStyle = "#8d949c";
    ctx.textAlign = "center";
    ctx.fillText("The loss curve appears here once a job reports progress.", width / 2, height / 2);
    return;
  }

  const left = 52, right = 12, top = 10, bottom = 24;
  const plotW = width - left - right, plotH = height - top - bottom;
  let lowExp = Math.floor(Math.log10(low));
  let highExp = Math.ceil(Math.log10(high));
  if (highExp === lowExp) highExp += 1;
  const lastIteration = points.length ? points[points.length - 1].iteration : 0;
  const xMax = Math.max(iterations || 0, lastIteration, 1);
  const x = (i) => left + (i / xMax) * plotW;
  const y = (v) => top + (1 - (Math.max(Math.log10(v), lowExp) - lowExp) / (highExp - lowExp)) * plotH;

  // Grid: a line per decade, faint lines at 2…9 when there are few decades.
  const decades = highExp - lowExp;
  const labelEvery = Math.ceil(decades / 6);
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (let e = lowExp; e <= highExp; e++) {
    ctx.strokeStyle = "#2c3137";
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(left, Math.round(y(10 ** e)) + 0.5);
    ctx.lineTo(left + plotW, Math.round(y(10 ** e)) + 0.5);
    ctx.stroke();
    if ((e - lowExp) % labelEvery === 0) {
      ctx.fillStyle = "#8d949c";
      ctx.fillText(`1e${e}`, left - 6, y(10 ** e));
    }
    if (decades <= 3 && e < highExp) {
      ctx.strokeStyle = "#1f2328";
      for (let m = 2; m <= 9; m++) {
        const yy = Math.round(y(m * 10 ** e)) + 0.5;
        ctx.beginPath();
        ctx.moveTo(left, yy);
        ctx.lineTo(left + plotW, yy);
        ctx.stroke();
      }
    }
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  ctx.fillStyle = "#8d949c";
  const step = niceStep(xMax);
  for (let i = 0; i <= xMax + 1e-9; i += step) {
    ctx.fillText(String(Math.round(i)), x(i), top + plotH + 6);
  }
  ctx.strokeStyle = "#3a4047";
  ctx.strokeRect(left + 0.5, top + 0.5, plotW, plotH);

  // One line per term; a gap where a value is missing or not positive.
  ctx.lineWidth = 1.6;
  ctx.lineJoin = "round";
  for (const name of names) {
    ctx.strokeStyle = colorOf(name, names);
    ctx.fillStyle = ctx.strokeStyle;
    ctx.beginPath();
    let open = false;
    let count = 0;
    for (const p of points) {
      const v = p.values[name];
      if (!usable(v)) { open = false; continue; }
      if (open) ctx.lineTo(x(p.iteration), y(v));
      else ctx.moveTo(x(p.iteration), y(v));
      open = true;
      count++;
    }
    ctx.stroke();
    if (count === 1) {
      // A single point draws no line: mark it.
      const p = points.find((q) => usable(q.values[name]));
      ctx.beginPath();
      ctx.arc(x(p.iteration), y(p.values[name]), 2.5, 0, 2 * Math.PI);
      ctx.fill();
    }
    drawn = Math.max(drawn, count);
  }
  canvas.dataset.points = String(drawn);
}

function renderLegend(points, names) {
  const last = points.length ? points[points.length - 1].values : {};
  $("#loss-legend").replaceChildren(...names.map((name) =>
    el("span", { dataset: { term: name } },
      el("span", { class: "swatch", style: { background: colorOf(name, names) } }),
      name + " ", el("b", {}, formatLoss(last[name])))));
}

// ---------------------------------------------------------------------------------------------
// Queue: waiting and running jobs per device, then recently failed or cancelled ones.

function jobSummary(job) {
  const o = job.options || {};
  const styles = (job.styles || []).map(imageName).join(" + ");
  const parts = [`${imageName(job.content)} ← ${styles}`];
  if (o.size) parts.push(`${o.size}px`);
  if (o["style-weight"]) parts.push(`α ${o["style-weight"]}`);
  return parts.join(" · ");
}

function queueItem(job) {
  const position = job.status === "running" || job.position === 0 ? "running"
    : typeof job.position === "number" ? `#${job.position}` : "";
  const controls = el("span", { class: "controls" },
    el("span", { class: "status", dataset: { status: job.status } }, job.status));
  if (isActive(job)) {
    controls.append(el("button", {
      type: "button", class: "small danger cancel", title: "Cancel this job",
      onclick: (event) => {
        event.stopPropagation();
        act(event.currentTarget, async () => upsertJob(await api("POST", `/api/jobs/${encodeURIComponent(job.id)}/cancel`))).then(renderQueue);
      },
    }, "Cancel"));
  } else {
    controls.append(el("button", {
      type: "button", class: "small remove", title: "Remove from the list",
      onclick: (event) => {
        event.stopPropagation();
        act(event.currentTarget, async () => {
          await api("DELETE", `/api/jobs/${encodeURIComponent(job.id)}`);
          forgetJob(job.id);
          renderQueue();
        });
      },
    }, "Remove"));
  }
  const item = el("li", {
    class: "queue-item" + (job.id === state.watched ? " watched" : ""),
    dataset: { job: job.id, status: job.status }, title: `Job ${job.id} — click to watch`,
    onclick: () => watch(job.id),
  },
  el("span", { class: "position" }, position),
  el("span", { class: "summary" }, jobSummary(job), " ", el("span", { class: "queue-progress muted" }, progressText(job))),
  controls,
  job.error ? el("span", { class: "job-error" }, job.error) : null);
  return item;
}

function progressText(job) {
  return job.status === "running" && job.iterations ? `${job.iteration || 0}/${job.iterations}` : "";
}

function updateQueueProgress(id) {
  const job = state.jobs.get(id);
  const node = $(`.queue-item[data-job="${CSS.escape(id)}"] .queue-progress`);
  if (job && node) node.textContent = progressText(job);
}

function renderQueue() {
  const queue = $("#queue");
  const jobs = [...state.jobs.values()];
  const active = jobs.filter(isActive);
  const devices = ((state.info && state.info.devices) || []).map((d) => d.id);
  for (const job of active) if (!devices.includes(job.device)) devices.push(job.device);

  const sections = [];
  for (const device of devices) {
    const mine = active.filter((job) => job.device === device).sort((a, b) => rank(a) - rank(b));
    if (mine.length === 0) continue;
    const info = ((state.info && state.info.devices) || []).find((d) => d.id === device);
    sections.push(el("section", { class: "queue-device", dataset: { device } },
      el("h3", {}, info && info.name ? `${device} — ${info.name}` : device),
      el("ol", {}, mine.map(queueItem))));
  }
  // Failed and cancelled jobs stay listed (newest first) so their status and error can be read.
  const recent = jobs.filter((job) => job.status === "failed" || job.status === "cancelled")
    .sort((a, b) => String(b.finished || b.created).localeCompare(String(a.finished || a.created)))
    .slice(0, 10);
  if (recent.length) {
    sections.push(el("section", { class: "queue-device queue-recent" },
      el("h3", {}, "Stopped"), el("ol", {}, recent.map(queueItem))));
  }
  if (sections.length === 0) sections.push(el("span", { class: "muted" }, "Nothing queued."));
  queue.replaceChildren(...sections);
}

// Running first, then by queue position.
function rank(job) {
  if (job.status === "running") return -1;
  return typeof job.position === "number" ? job.position : 1e9;
}

// ---------------------------------------------------------------------------------------------
// Gallery and comparison

function doneJobs() {
  return [...state.jobs.values()].filter((job) => job.status === "done" && job.result)
    .sort((a, b) => String(b.finished || b.created).localeCompare(String(a.finished || a.created)));
}

// The option list of a job, every option with its default filled in, so results compare fully.
function fullOptions(job) {
  const defaults = (state.info && state.info.defaults) || {};
  const options = {};
  for (const [name, value] of Object.entries(defaults)) options[name] = String(value);
  for (const [name, value] of Object.entries(job.options || {})) options[name] = String(value);
  return options;
}

function galleryItem(job) {
  const select = el("input", { type: "checkbox", class: "compare-select", checked: state.compare.has(job.id) });
  select.addEventListener("change", () => {
    if (select.checked) state.compare.add(job.id);
    else state.compare.delete(job.id);
    renderCompare();
  });
  const options = fullOptions(job);
  const masks = job.masks || {};
  return el("article", { class: "gallery-item" + (state.compare.has(job.id) ? " selected" : ""), dataset: { job: job.id } },
    el("img", { class: "result", src: job.result, alt: `Result of job ${job.id}`, loading: "lazy", title: "Show in the live panel", onclick: () => watch(job.id) }),
    el("div", { class: "inputs" },
      el("img", { class: "thumb tiny", src: imageURL(job.content), alt: "", title: `content: ${imageName(job.content)}` }),
      el("span", { class: "arrow" }, "←"),
      (job.styles || []).map((id, i) => el("img", {
        class: "thumb tiny", src: imageURL(id), alt: "",
        title: `style ${i + 1}: ${imageName(id)}${masks[String(i + 1)] ? ` (mask ${imageName(masks[String(i + 1)])})` : ""}`,
      })),
      el("span", { class: "names" }, `${imageName(job.content)} ← ${(job.styles || []).map(imageName).join(" + ")}`)),
    el("div", { class: "meta" },
      `${options.size}px · α ${options["style-weight"]} · β ${options["tv-weight"]} · ${options.iterations} it · ${options.model}`),
    el("div", { class: "meta" }, `job ${job.id} · ${job.device} · ${formatTime(job.finished)}`),
    el("details", {},
      el("summary", {}, "All options"),
      el("dl", { class: "option-list" },
        Object.entries(options).map(([name, value]) => [el("dt", {}, name), el("dd", {}, value)]),
        el("dt", {}, "device"), el("dd", {}, job.device),
        el("dt", {}, "content"), el("dd", {}, imageName(job.content)),
        (job.styles || []).map((id, i) => [el("dt", {}, `style ${i + 1}`),
          el("dd", {}, imageName(id) + (masks[String(i + 1)] ? `, mask ${imageName(masks[String(i + 1)])}` : ""))]))),
    el("div", { class: "buttons" },
      el("label", { title: "Show side by side with other ticked results" }, select, "Compare"),
      el("a", { class: "button small download", href: job.result, download: `neural-style-${job.id}.png` }, "PNG"),
      el("button", { type: "button", class: "small copy-command", onclick: () => copyCommand(job) }, "Copy command line"),
      el("button", { type: "button", class: "small reuse", title: "Load these inputs and options into the form", onclick: () => reuse(job) }, "Reuse"),
      el("button", {
        type: "button", class: "small danger delete", title: "Delete this result",
        onclick: (event) => act(event.currentTarget, async () => {
          await api("DELETE", `/api/jobs/${encodeURIComponent(job.id)}`);
          forgetJob(job.id);
          renderGallery();
        }),
      }, "Delete")));
}

function renderGallery() {
  const gallery = $("#gallery");
  const jobs = doneJobs();
  // Finished results do not change: keep their elements (and loaded images), build only new ones.
  const existing = new Map($$(".gallery-item", gallery).map((node) => [node.dataset.job, node]));
  if (jobs.length === 0) {
    gallery.replaceChildren(el("span", { class: "muted" }, "No finished results yet."));
  } else {
    gallery.replaceChildren(...jobs.map((job) => existing.get(job.id) || galleryItem(job)));
  }
  for (const id of [...state.compare]) if (!jobs.some((job) => job.id === id)) state.compare.delete(id);
  renderCompare();
}

// The ticked results side by side, each captioned with what differs between them.
function renderCompare() {
  const view = $("#compare-view");
  for (const node of $$(".gallery-item")) {
    const selected = state.compare.has(node.dataset.job);
    node.classList.toggle("selected", selected);
    const box = $(".compare-select", node);
    if (box) box.checked = selected;
  }
  const jobs = [...state.compare].map((id) => state.jobs.get(id)).filter(Boolean);
  if (jobs.length === 0) {
    view.hidden = true;
    view.replaceChildren();
    return;
  }
  const described = jobs.map((job) => Object.assign({
    content: imageName(job.content),
    styles: (job.styles || []).map(imageName).join(" + "),
    device: job.device,
  }, fullOptions(job)));
  const keys = [...new Set(described.flatMap((d) => Object.keys(d)))];
  const differing = keys.filter((key) => new Set(described.map((d) => d[key])).size > 1);

  view.hidden = false;
  view.replaceChildren(
    el("div", { class: "compare-header" },
      el("h3", {}, jobs.length === 1 ? "Comparing 1 result — tick another" : `Comparing ${jobs.length} results`),
      el("button", {
        type: "button", class: "small", id: "compare-clear",
        onclick: () => { state.compare.clear(); renderCompare(); },
      }, "Clear")),
    el("div", { class: "compare-row" }, jobs.map((job, i) => el("figure", { class: "compare-item", dataset: { job: job.id } },
      el("img", { src: job.result, alt: `Result of job ${job.id}` }),
      el("figcaption", {},
        differing.length
          ? differing.map((key, j) => [j ? " · " : "", `${key} `, el("b", {}, described[i][key])])
          : `job ${job.id}`)))));
}

// ---------------------------------------------------------------------------------------------
// Copy as command line: shown in #command-text, and copied to the clipboard when the browser lets us.

async function copyCommand(job) {
  clearError();
  const command = job.command || "";
  $("#command-text").textContent = command;
  $("#command-job").textContent = `of job ${job.id}`;
  $("#command-box").hidden = false;
  if (!command) {
    showError(`Job ${job.id} has no command line`);
    return;
  }
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(command);
      return;
    }
  } catch {
    // Refused (no permission, page not focused): fall through to the old way.
  }
  const area = el("textarea", { readonly: true, class: "clipboard-helper" });
  area.value = command;
  document.body.append(area);
  area.select();
  try {
    if (!document.execCommand("copy")) throw new Error("refused");
  } catch {
    showError("The browser would not copy to the clipboard; select the command line below and copy it by hand");
  } finally {
    area.remove();
  }
}

// ---------------------------------------------------------------------------------------------
// Start-up

function setUp() {
  setUpInputs();
  $("#error-close").addEventListener("click", clearError);
  $("#plan").addEventListener("click", (event) => act(event.currentTarget, plan));
  $("#start").addEventListener("click", (event) => act(event.currentTarget, start));
  // The plan is for the options it was made with: hide it when they change.
  $("#options").addEventListener("input", () => { $("#plan-text").hidden = true; });
  $("#options").addEventListener("submit", (event) => event.preventDefault());
  window.addEventListener("resize", () => renderLive());
  window.addEventListener("unhandledrejection", (event) => showError(event.reason));

  // The server turned ?token= into a cookie when it sent this page: drop the secret from the
  // address bar (and so from history, bookmarks and screenshots).
  const address = new URL(location.href);
  if (address.searchParams.has("token")) {
    address.searchParams.delete("token");
    history.replaceState(null, "", address.pathname + address.search + address.hash);
  }

  renderInputs();
  renderLive();
  act(null, async () => {
    await loadInfo();
    await loadImages();
    await refreshJobs();
  }).finally(connectEvents);
}

document.addEventListener("DOMContentLoaded", setUp);
