// The residents' portal: live region suggestions, the copy button and the visitor's
// remembered area on the front door. Every page works without them (the search box
// submits, the share text can be selected by hand, a region page links to "my area").
(function () {
  "use strict";

  function clear(node) {
    while (node.firstChild) { node.removeChild(node.firstChild); }
  }

  function suggestions(input, list) {
    var timer = null;
    var last = "";
    function show(regions) {
      clear(list);
      regions.forEach(function (region) {
        var item = document.createElement("li");
        var link = document.createElement("a");
        link.href = region.url;
        link.textContent = region.name;
        item.appendChild(link);
        if (region.parent_name) {
          var small = document.createElement("small");
          small.textContent = " " + region.parent_name;
          item.appendChild(small);
        }
        list.appendChild(item);
      });
    }
    function fetchNow() {
      var query = input.value.trim();
      if (query === last) { return; }
      last = query;
      if (query.length < 2) { clear(list); return; }
      var url = new URL(input.dataset.suggest, window.location.href);
      url.searchParams.set("q", query);
      if (input.dataset.within) { url.searchParams.set("within", input.dataset.within); }
      fetch(url.toString(), { headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data && query === last) { show(data.regions); } })
        .catch(function () { /* the form still submits */ });
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(fetchNow, 200);
    });
    // On a slow phone a resident may type before this script has run: answer that too
    // (but not the query a results page was rendered with).
    if (input.value !== input.defaultValue) { fetchNow(); }
  }

  function copyButton(button) {
    var source = document.getElementById(button.dataset.copy);
    if (!source || !navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.value).then(function () {
        button.textContent = button.dataset.done;
      });
    });
  }

  // The page is the same for every visitor (shared caches keep it): the remembered area
  // comes from its own uncached request, our server's HTML with every value escaped.
  function myArea(slot) {
    fetch(slot.dataset.myArea, { credentials: "same-origin" })
      .then(function (r) { return r.status === 200 ? r.text() : ""; })
      .then(function (html) {
        if (!html) { return; }
        var holder = document.createElement("template");
        holder.innerHTML = html;
        slot.replaceWith(holder.content);
      })
      .catch(function () { /* the page stands without it */ });
  }

  var slot = document.getElementById("my-area-slot");
  if (slot) { myArea(slot); }
  var input = document.querySelector("input[data-suggest]");
  var list = document.getElementById("region-suggestions");
  if (input && list) { suggestions(input, list); }
  Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), copyButton);
})();
