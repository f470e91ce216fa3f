// The new-workspace form: suggest a slug from the name while the slug box has not been
// edited by hand (<input data-slug-from="ID of the name box">). Names in Japanese have no
// ASCII to take, so the box then stays empty and the server makes one.
(function () {
  "use strict";

  function slugify(text) {
    return text.normalize("NFKD").toLowerCase()
      .replace(/[^a-z0-9\s-]/g, "").trim()
      .replace(/[\s-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40);
  }

  document.querySelectorAll("input[data-slug-from]").forEach(function (slug) {
    var name = document.getElementById(slug.dataset.slugFrom);
    if (!name) return;
    var touched = slug.value !== "";
    slug.addEventListener("input", function () { touched = slug.value !== ""; });
    name.addEventListener("input", function () {
      if (!touched) slug.value = slugify(name.value);
    });
  });
})();
