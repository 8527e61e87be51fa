// gridcast page glue (kept tiny; htmx does the work). Marks that scripts run, for CSS.
document.documentElement.classList.add("js");
