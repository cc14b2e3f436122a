// Wall announcements: hide one when its expiry passes (the server forgets it then too).
(function () {
  "use strict";
  function check() {
    var el = document.getElementById("announcement");
    if (!el) return;
    var expires = parseInt(el.dataset.expires || "0", 10);
    if (!el.hidden && expires && expires < Date.now()) el.hidden = true;
  }
  setInterval(check, 2000);
})();
