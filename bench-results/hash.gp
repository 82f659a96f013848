set terminal svg size 700,360 font "DejaVu Sans,11" background "#ffffff"
set output "bench-results/hash.svg"
set title "Hashing speed (MB/s)"
set style fill solid 0.8
set boxwidth 0.6
set yrange [0:*]
set grid ytics
unset key
plot "bench-results/hash.dat" using 0:2:xtic(1) with boxes lc rgb "#2a9d8f"
