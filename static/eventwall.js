// Eventwall live screens: resume where we left off, keep the DOM bounded, show the link state.
(function () {
  "use strict";
  var stream = document.getElementById("stream");
  if (!stream || !window.htmx) return;

  // The newest change id this page has applied. The first connect resumes from the id the
  // page was rendered at, so nothing published between render and connect is missed.
  var lastId = stream.dataset.since || "";
  var CHANGE_ID = /^\s*<[^>]*\sdata-change-id="(\d+-\d+)"/;

  htmx.createWebSocket = function (url) {
    var target = new URL(url, window.location.href);
    if (lastId) target.searchParams.set("since", lastId);
    var socket = new WebSocket(target.toString());
    socket.binaryType = htmx.config.wsBinaryType;
    return socket;
  };

  stream.addEventListener("htmx:wsBeforeMessage", function (evt) {
    var match = CHANGE_ID.exec(String(evt.detail.message).slice(0, 2000));
    if (match) lastId = match[1];
    stream.dataset.since = lastId;
  });

  stream.addEventListener("htmx:wsAfterMessage", function () {
    var posts = document.getElementById("posts");
    var max = parseInt(stream.dataset.maxPosts || "100", 10);
    while (posts && posts.children.length > max) posts.lastElementChild.remove();
  });

  var status = document.getElementById("status");
  function setStatus(state) {
    if (!status) return;
    status.className = "status " + state;
    status.title = state;
    document.body.dataset.connection = state;
  }
  stream.addEventListener("htmx:wsConnecting", function () { setStatus("connecting"); });
  stream.addEventListener("htmx:wsOpen", function () { setStatus("online"); });
  stream.addEventListener("htmx:wsClose", function () { setStatus("offline"); });
})();
