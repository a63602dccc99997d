// The subscribe page, enhanced. The commune picker, live: it searches as one types (/regions.json, with
// or without diacritics), a tap on a result adds it as a chip, a chip's × removes it, and
// every change is announced in the picker's live region. Without this script the same form
// works by its search button and check boxes (templates/subscribe/_macros.html).
(function () {
  "use strict";

  // The phone's keyboard for the channel chosen: digits for SMS, "@" for email.
  var address = document.getElementById("address");
  var keyboards = { sms: ["tel", "tel"], email: ["email", "email"] };
  function keyboard(channel) {
    var kind = keyboards[channel];
    if (!address || !kind) { return; }
    address.type = kind[0];
    address.setAttribute("autocomplete", kind[1]);
  }
  Array.prototype.forEach.call(document.querySelectorAll("input[name=channel]"), function (radio) {
    radio.addEventListener("change", function () { keyboard(radio.value); });
    if (radio.checked) { keyboard(radio.value); }
  });

  var root = document.querySelector("fieldset.picker[data-suggest]");
  if (!root || !window.fetch) { return; }
  var text = JSON.parse(root.dataset.text);
  var max = parseInt(root.dataset.max, 10);
  var input = root.querySelector("input[type=search]");
  var chips = root.querySelector(".picker-chosen");
  var results = root.querySelector(".picker-results");
  var status = root.querySelector(".picker-status");
  var timer = null;
  var last = null;

  function say(template, values) {
    var message = template;
    Object.keys(values || {}).forEach(function (key) {
      message = message.split("{" + key + "}").join(values[key]);
    });
    status.textContent = message;
  }

  function chosenCodes() {
    return Array.prototype.map.call(chips.querySelectorAll("li[data-code]"), function (li) {
      return li.dataset.code;
    });
  }

  function label(node, name, parent) {
    node.appendChild(document.createTextNode(name + " "));
    var small = document.createElement("small");
    small.textContent = parent || text.whole;
    node.appendChild(small);
  }

  function addChip(code, name, parent) {
    var li = document.createElement("li");
    li.className = "chip";
    li.dataset.code = code;
    var kept = document.createElement("input");
    kept.type = "hidden";
    kept.name = "regions";
    kept.value = code;
    li.appendChild(kept);
    var span = document.createElement("span");
    label(span, name, parent);
    li.appendChild(span);
    var remove = document.createElement("button");
    remove.type = "button";
    remove.className = "chip-remove";
    remove.textContent = "×";
    remove.setAttribute("aria-label", text.remove.replace("{name}", name));
    remove.addEventListener("click", function () {
      li.remove();
      say(text.removed, { name: name });
      input.focus();
    });
    li.appendChild(remove);
    chips.appendChild(li);
  }

  // The boxes the page came with become chips (the server's names kept as they are).
  Array.prototype.forEach.call(chips.querySelectorAll("li[data-code]"), function (li) {
    var box = li.querySelector("input[type=checkbox]");
    var small = li.querySelector("small");
    var name = li.querySelector("label").firstChild.textContent.trim();
    var parent = small && small.textContent !== text.whole ? small.textContent : null;
    li.remove();
    if (box.checked) { addChip(li.dataset.code, name, parent); }
  });

  function choose(region, item) {
    if (chosenCodes().indexOf(region.code) !== -1) { return; }
    if (chosenCodes().length >= max) { say(text.full); return; }
    addChip(region.code, region.name, region.parent_name);
    item.remove();
    say(text.added, { name: region.name });
    input.focus();
  }

  function show(regions) {
    results.replaceChildren();
    var taken = chosenCodes();
    var shown = regions.filter(function (r) {
      return r.level !== "nation" && taken.indexOf(r.code) === -1;
    });
    shown.forEach(function (region) {
      var item = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.dataset.code = region.code;
      label(button, region.name, region.level === "commune" ? region.parent_name : null);
      button.addEventListener("click", function () { choose(region, item); });
      item.appendChild(button);
      results.appendChild(item);
    });
    say(shown.length ? text.found : text.none, { count: shown.length });
  }

  function search() {
    var query = input.value.trim();
    if (query === last) { return; }
    last = query;
    if (query.length < 2) { results.replaceChildren(); status.textContent = ""; return; }
    fetch(root.dataset.suggest + "?q=" + encodeURIComponent(query), {
      headers: { Accept: "application/json" }
    })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data && query === last) { show(data.regions); } })
      .catch(function () { /* the search button still works */ });
  }

  // Server-side matches (a search done before this script ran) stay as boxes; new ones
  // replace them.
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(search, 200);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter") {
      event.preventDefault();
      clearTimeout(timer);
      last = null;
      search();
    }
  });
  // Gone rather than hidden: Enter in the address box then submits the subscription.
  root.querySelector(".picker-search button").remove();
})();
