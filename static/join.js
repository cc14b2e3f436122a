// The join page: a Copy button for the hashtag, where the browser lets a page write the clipboard.
(function () {
  "use strict";
  var body = document.body;
  if (/^#[0-9a-fA-F]{6}$/.test(body.dataset.accent || "")) {
    body.style.setProperty("--accent", body.dataset.accent);
  }
  document.querySelectorAll("button.copy[data-copy]").forEach(function (button) {
    if (!navigator.clipboard) return; // stays hidden: the tag can still be selected and copied
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(button.dataset.copy).then(function () {
        button.textContent = "Copied";
      }, function () {
        button.textContent = "Select it above";
      });
    });
  });
})();
