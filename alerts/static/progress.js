// Live delivery counts on the warning page: poll every 2 s until nothing is left to send,
// then every 15 s for a while, as the providers' receipts (delivered, read) come in.
(function () {
  "use strict";
  var section = document.getElementById("delivery");
  if (!section) { return; }
  var url = section.dataset.progressUrl;
  var receiptPolls = 40;
  function update(data) {
    Object.keys(data.channels).forEach(function (channel) {
      var row = section.querySelector('tr[data-channel="' + channel + '"]');
      if (!row) { return; }
      Object.keys(data.channels[channel]).forEach(function (state) {
        var cell = row.querySelector('td[data-state="' + state + '"]');
        if (cell) { cell.textContent = data.channels[channel][state]; }
      });
    });
    if (!data.done) { setTimeout(poll, 2000); }
    else if (receiptPolls-- > 0) { setTimeout(poll, 15000); }
  }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) { update(data); } })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 2000);
})();
