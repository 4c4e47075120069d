// Resident chat: talks to Rasa's socket.io channel. Text is always inserted as text, never as HTML.
(function () {
  "use strict";
  var root = document.querySelector(".chat");
  var log = document.getElementById("log");
  var form = document.getElementById("composer");
  var input = document.getElementById("message");
  var send = document.getElementById("send");
  var statusLine = document.getElementById("status");

  var STORAGE_KEY = "minsheng.session";
  var sessionId = window.localStorage.getItem(STORAGE_KEY);
  if (!sessionId) {
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

  function addMessage(who, text) {
    var item = document.createElement("li");
    item.className = "msg msg--" + who;
    var bubble = document.createElement("div");
    bubble.className = "msg__bubble";
    bubble.textContent = text;
    item.appendChild(bubble);
    log.appendChild(item);
    scrollDown();
  }

  function addButtons(buttons) {
    var item = document.createElement("li");
    item.className = "msg__buttons";
    buttons.forEach(function (b) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = b.title;
      button.addEventListener("click", function () {
        Array.prototype.forEach.call(item.querySelectorAll("button"), function (x) { x.disabled = true; });
        deliver(b.payload, b.title);
      });
      item.appendChild(button);
    });
    log.appendChild(item);
    scrollDown();
  }

  function deliver(message, shown) {
    addMessage("user", shown);
    socket.emit("user_uttered", { message: message, session_id: sessionId });
  }

  socket.on("connect", function () {
    socket.emit("session_request", { session_id: sessionId });
    statusLine.textContent = "已连接";
    send.disabled = false;
  });
  socket.on("disconnect", function () {
    statusLine.textContent = "连接中断，正在重连…";
    send.disabled = true;
  });
  socket.on("connect_error", function () { statusLine.textContent = "暂时连不上助手，正在重试…"; });
  socket.on("bot_uttered", function (reply) {
    if (reply.text) { addMessage("bot", reply.text); }
    var buttons = reply.quick_replies || reply.buttons;
    if (buttons && buttons.length) { addButtons(buttons); }
    if (reply.attachment && reply.attachment.payload && reply.attachment.payload.src) {
      addMessage("bot", reply.attachment.payload.src);
    }
  });

  function addPhoto(url) {
    var item = document.createElement("li");
    item.className = "msg msg--user";
    var image = document.createElement("img");
    image.className = "msg__photo";
    image.alt = "照片";
    image.src = url;
    item.appendChild(image);
    log.appendChild(item);
    scrollDown();
  }

  document.getElementById("photo").addEventListener("change", function (event) {
    var file = event.target.files[0];
    event.target.value = "";
    if (!file) { return; }
    var body = new FormData();
    body.append("photo", file);
    fetch("/api/photos", { method: "POST", body: body })
      .then(function (response) { return response.json().then(function (data) { return [response.ok, data]; }); })
      .then(function (result) {
        if (!result[0]) { addMessage("bot", result[1].error || "照片没有上传成功，请再试一次。"); return; }
        addPhoto(result[1].url);
        socket.emit("user_uttered", {
          message: "/inform" + JSON.stringify({ photo_url: result[1].url }), session_id: sessionId });
      })
      .catch(function () { addMessage("bot", "照片没有上传成功，请检查网络后再试。"); });
  });

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
  addMessage("bot", "您好！我是民生小助手。遇到什么问题，直接告诉我就行。");
})();
