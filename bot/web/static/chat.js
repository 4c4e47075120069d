// Resident chat: talks to Rasa's socket.io channel. Text is always inserted as text, never as HTML.
(function () {
  "use strict";
  var root = document.querySelector(".chat");
  var log = document.getElementById("log");
  var form = document.getElementById("composer");
  var input = document.getElementById("message");
  var send = document.getElementById("send");
  var statusLine = document.getElementById("status");
  var banner = document.getElementById("connection");
  var ticketCard = document.getElementById("tickets");
  var ticketList = document.getElementById("ticket-list");
  var typing = document.getElementById("typing");
  var locate = document.getElementById("locate");

  var STORAGE_KEY = "minsheng.session";
  var TICKET = /[A-Z]{1,8}-\d{8}-\d{4,6}/;
  // Numbers a resident may need to call at once: shown as tap-to-call links in a warning.
  var CALLABLE = /\b(?:110|119|120|122|96333|12345)\b|\b0\d{2,3}-?\d{7,8}\b|\b\d{5,8}\b/;
  var MAX_PHOTO_SIDE = 1600;

  var sessionId = window.localStorage.getItem(STORAGE_KEY);
  var returning = Boolean(sessionId && /^[0-9a-f]{32}$/.test(sessionId));
  if (!returning) {
    // The conversation's id is its only key: 128 random bits (crypto.randomUUID needs HTTPS).
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    sessionId = Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
    window.localStorage.setItem(STORAGE_KEY, sessionId);
  }

  var rasaUrl = root.dataset.rasaUrl ||
    (window.location.protocol + "//" + window.location.hostname + ":" + (root.dataset.rasaPort || "5005"));
  var socket = io(rasaUrl, { path: root.dataset.socketPath || "/socket.io", transports: ["websocket", "polling"] });

  function scrollDown() { log.scrollTop = log.scrollHeight; window.scrollTo(0, document.body.scrollHeight); }

  // ------------------------------------------------------------------ messages
  // A ticket number is never broken across lines; in a warning, the numbers to call are links.
  function appendText(bubble, text, callable) {
    var pattern = new RegExp(TICKET.source + (callable ? "|" + CALLABLE.source : ""), "g");
    var last = 0;
    text.replace(pattern, function (found, offset) {
      offset = arguments[arguments.length - 2];
      bubble.appendChild(document.createTextNode(text.slice(last, offset)));
      var piece;
      if (TICKET.test(found)) {
        piece = document.createElement("span");
        piece.className = "nowrap";
      } else {
        piece = document.createElement("a");
        piece.href = "tel:" + found.replace(/-/g, "");
        piece.className = "call";
      }
      piece.textContent = found;
      bubble.appendChild(piece);
      last = offset + found.length;
      return found;
    });
    bubble.appendChild(document.createTextNode(text.slice(last)));
  }

  function addMessage(who, text) {
    var item = document.createElement("li");
    item.className = "msg msg--" + who;
    var bubble = document.createElement("div");
    bubble.className = "msg__bubble";
    var emergency = who === "bot" && text.indexOf("⚠️") === 0;
    if (emergency) {
      item.classList.add("msg--emergency");
      item.setAttribute("role", "alert");
    }
    appendText(bubble, text, emergency);
    item.appendChild(bubble);
    log.insertBefore(item, typing);
    scrollDown();
    return item;
  }

  // Buttons answer the message they came with: once anything is said after them, they are spent.
  function retireButtons() {
    Array.prototype.forEach.call(log.querySelectorAll(".msg__buttons button"), function (x) { x.disabled = true; });
  }

  function addButtons(buttons, live) {
    var item = document.createElement("li");
    item.className = "msg__buttons";
    buttons.forEach(function (b) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = b.title;
      button.disabled = !live;
      button.addEventListener("click", function () { deliver(b.payload, b.title); });
      item.appendChild(button);
    });
    log.insertBefore(item, typing);
    scrollDown();
  }

  function addPhoto(url) {
    var item = document.createElement("li");
    item.className = "msg msg--user";
    var image = document.createElement("img");
    image.className = "msg__photo";
    image.alt = "照片";
    image.src = url;
    item.appendChild(image);
    log.insertBefore(item, typing);
    scrollDown();
  }

  // ------------------------------------------------------------------ the assistant is working
  var typingTimer = null;
  function showTyping() {
    typing.hidden = false;
    scrollDown();
    window.clearTimeout(typingTimer);
    typingTimer = window.setTimeout(hideTyping, 30000);
  }
  function hideTyping() { typing.hidden = true; window.clearTimeout(typingTimer); }

  function deliver(message, shown) {
    retireButtons();
    addMessage("user", shown);
    socket.emit("user_uttered", { message: message, session_id: sessionId, shown: shown });
    showTyping();
  }

  // ------------------------------------------------------------------ my tickets
  function showTickets(tickets) {
    ticketList.textContent = "";
    tickets.forEach(function (t) {
      var row = document.createElement("li");
      var number = document.createElement("span");
      number.className = "ticket-number";
      number.textContent = t.number;
      var state = document.createElement("span");
      state.className = "ticket-state";
      state.textContent = t.status;
      var copy = document.createElement("button");
      copy.type = "button";
      copy.className = "copy";
      copy.textContent = "复制";
      copy.setAttribute("aria-label", "复制工单编号 " + t.number);
      copy.addEventListener("click", function () { copyNumber(t.number, copy); });
      row.appendChild(number);
      row.appendChild(state);
      row.appendChild(copy);
      ticketList.appendChild(row);
    });
    ticketCard.hidden = tickets.length === 0;
  }

  function copyNumber(number, button) {
    function done() { button.textContent = "已复制"; window.setTimeout(function () { button.textContent = "复制"; }, 2000); }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(number).then(done, function () { selectNumber(button); });
    } else {
      selectNumber(button);
    }
  }
  function selectNumber(button) {
    var range = document.createRange();
    range.selectNodeContents(button.parentNode.querySelector(".ticket-number"));
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function fetchHistory() {
    return fetch("/api/chat/" + sessionId + "/history", { cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .catch(function () { return null; });
  }

  function refreshTickets() {
    fetchHistory().then(function (data) { if (data) { showTickets(data.tickets); } });
  }

  // The conversation so far, when the page is reopened (a new conversation has none to ask for).
  var restored = (returning ? fetchHistory() : Promise.resolve(null)).then(function (data) {
    if (!data || !data.messages.length) {
      addMessage("bot", "您好！我是民生小助手。遇到什么问题，直接告诉我就行。");
    } else {
      var earlier = document.createElement("li");
      earlier.className = "msg__divider";
      earlier.textContent = "以下是之前的对话";
      log.insertBefore(earlier, typing);
      data.messages.forEach(function (line, index) {
        if (line.photo) { addPhoto(line.photo); return; }
        if (line.text) { addMessage(line.who, line.text); }
        if (line.buttons && line.buttons.length) { addButtons(line.buttons, index === data.messages.length - 1); }
      });
    }
    if (data) { showTickets(data.tickets); }
  });

  // ------------------------------------------------------------------ the connection
  function connected(yes, words) {
    statusLine.textContent = words;
    banner.hidden = yes;
    banner.textContent = yes ? "" : words;
    send.disabled = !yes;
  }

  socket.on("connect", function () {
    restored.then(function () {
      socket.emit("session_request", { session_id: sessionId });
      connected(true, "已连接");
    });
  });
  socket.on("disconnect", function () { hideTyping(); connected(false, "连接中断，正在重连…您写的内容不会丢。"); });
  socket.on("connect_error", function () { connected(false, "暂时连不上助手，正在重试…"); });
  socket.on("bot_uttered", function (reply) {
    hideTyping();
    if (reply.text) {
      addMessage("bot", reply.text);
      if (TICKET.test(reply.text)) { refreshTickets(); }
    }
    var buttons = reply.quick_replies || reply.buttons;
    if (buttons && buttons.length) { addButtons(buttons, true); }
  });

  // ------------------------------------------------------------------ photos: shrunk, then uploaded with progress
  function shrink(file) {
    return new Promise(function (resolve) {
      if (!/^image\/(jpeg|png|webp)$/.test(file.type) || !window.createImageBitmap) { resolve(file); return; }
      createImageBitmap(file).then(function (bitmap) {
        var scale = Math.min(1, MAX_PHOTO_SIDE / Math.max(bitmap.width, bitmap.height));
        if (scale === 1 && file.size < 1024 * 1024) { resolve(file); return; }
        var canvas = document.createElement("canvas");
        canvas.width = Math.round(bitmap.width * scale);
        canvas.height = Math.round(bitmap.height * scale);
        canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
        canvas.toBlob(function (blob) { resolve(blob && blob.size < file.size ? blob : file); }, "image/jpeg", 0.85);
      }, function () { resolve(file); });
    });
  }

  function upload(blob, progressItem) {
    return new Promise(function (resolve) {
      var body = new FormData();
      body.append("photo", blob, "photo.jpg");
      var request = new XMLHttpRequest();
      request.open("POST", "/api/photos");
      request.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable) {
          progressItem.querySelector(".msg__bubble").textContent =
            "照片上传中… " + Math.round((event.loaded / event.total) * 100) + "%";
        }
      });
      request.addEventListener("load", function () {
        var data = {};
        try { data = JSON.parse(request.responseText); } catch (e) { data = {}; }
        resolve([request.status === 201, data]);
      });
      request.addEventListener("error", function () { resolve([false, { error: "照片没有上传成功，请检查网络后再试。" }]); });
      request.send(body);
    });
  }

  document.getElementById("photo").addEventListener("change", function (event) {
    var file = event.target.files[0];
    event.target.value = "";
    if (!file) { return; }
    var progress = addMessage("user", "照片上传中…");
    progress.classList.add("msg--progress");
    shrink(file).then(function (blob) { return upload(blob, progress); }).then(function (result) {
      progress.remove();
      if (!result[0]) { addMessage("bot", result[1].error || "照片没有上传成功，请再试一次。"); return; }
      retireButtons();
      addPhoto(result[1].url);
      socket.emit("user_uttered", {
        message: "/inform" + JSON.stringify({ photo_url: result[1].url }), session_id: sessionId });
      showTyping();
    });
  });

  // ------------------------------------------------------------------ the device's position
  if (!("geolocation" in navigator)) { locate.hidden = true; }
  locate.addEventListener("click", function () {
    locate.disabled = true;
    navigator.geolocation.getCurrentPosition(function (position) {
      locate.disabled = false;
      var where = { latitude: Number(position.coords.latitude.toFixed(6)),
                    longitude: Number(position.coords.longitude.toFixed(6)) };
      deliver("/share_location" + JSON.stringify(where), "（发送了当前位置）");
    }, function () {
      locate.disabled = false;
      addMessage("bot", "没能取得您的位置（可能没有允许定位）。直接用文字说一下地点也可以。");
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  });

  // ------------------------------------------------------------------ typing
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) { input.focus(); return; }
    deliver(text, text);
    input.value = "";
    input.focus();
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  send.disabled = true;
})();
