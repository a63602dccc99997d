// The warning's reach page, live: every 20 s fetch the page again and swap in its reach
// section (charts and tables drawn on the server), for an hour; nothing runs elsewhere.
(function () {
  "use strict";
  var id = "warning-reach";
  var polls = 180;
  function poll() {
    if (polls-- <= 0) { return; }
    fetch(window.location.href, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        var fresh = html && new DOMParser().parseFromString(html, "text/html").getElementById(id);
        var shown = document.getElementById(id);
        if (fresh && shown && !shown.contains(document.activeElement)) {
          shown.replaceWith(fresh);
        }
        setTimeout(poll, 20000);
      })
      .catch(function () { setTimeout(poll, 60000); });
  }
  setTimeout(poll, 20000);
})();
