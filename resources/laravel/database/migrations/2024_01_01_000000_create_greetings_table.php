<?php

use Illuminate\Database\Migrations\Migration;
use Illuminate\Database\Schema\Blueprint;
use Illuminate\Support\Facades\DB;
use Illuminate\Support\Facades\Schema;

return new class extends Migration
{
    /**
     * Create the table and seed its first row, so `php artisan migrate --force`
     * alone yields a page with content.
     *
     * @return void
     */
    public function up()
    {
        Schema::create('greetings', function (Blueprint $table) {
            $table->id();
            $table->string('message');
            $table->timestamps();
        });

        $now = now();
        DB::table('greetings')->insert([
            'message' => 'Hello from Laravel on Fargate',
            'created_at' => $now,
            'updated_at' => $now,
        ]);
    }

    /**
     * @return void
     */
    public function down()
    {
        Schema::dropIfExists('greetings');
    }
};
