// The console's screens panel: loaded from the server, its list of screens and connected
// walls refreshed every few seconds (the form is left alone while a moderator uses it).
(function () {
  "use strict";
  var REFRESH_MS = 5000;
  var holder = document.getElementById("screens-panel");
  if (!holder || !holder.dataset.src || !window.fetch) return;
  var src = holder.dataset.src;

  function load(full) {
    return fetch(src, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) return;
      return response.text().then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("screens-panel");
        if (!fresh) return;
        var panel = document.getElementById("screens-panel");
        if (full) {
          panel.replaceWith(fresh);
          fresh.dataset.src = src;
        } else {
          var list = panel.querySelector("ul.screens");
          var names = panel.querySelector("datalist");
          if (list) list.replaceWith(fresh.querySelector("ul.screens"));
          if (names) names.replaceWith(fresh.querySelector("datalist"));
        }
      });
    }).catch(function () {});
  }

  load(true).then(function () {
    setInterval(function () { load(false); }, REFRESH_MS);
  });
})();
